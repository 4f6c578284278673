"""Claimant self-service lookup (自助查询): claim number + a second factor, a short-lived signed session
scoped to that one claim, status, timeline, expected date, missing materials and their upload."""
