"""Improvement actions (改进措施, PDCA): raised from a finding, a complaint cause, an alert, a red KPI, a survey
dimension or by hand; root cause, plan steps, due dates on the SLA engine, a measured effectiveness check."""
