"""What a quality process can look at: a claim, a complaint, or a record kind filed later (policy, sales
call, service request), named by one generic reference (kind + id, within a tenant)."""
