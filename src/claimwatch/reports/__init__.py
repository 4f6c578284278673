"""Quality reports (品质管理报告) in HTML and PDF, special reports (专项报告), the regulator's cross-insurer edition,
and the public service-quality disclosure (信息披露)."""
