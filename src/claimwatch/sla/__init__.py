"""SLA clocks: budgets on the business calendar, pauses, suspensions, extensions, escalation."""
