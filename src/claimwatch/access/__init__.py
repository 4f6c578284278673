"""Who saw whose personal data: a record per view, export and unmask of a claimant's or complainant's data
(PIPL; JR/T 0171), read by a quality manager or an auditor."""
