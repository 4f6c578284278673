"""Notifications. For now: in-app notices to staff (escalations); claimant channels come with the outbox."""
