"""Complaint tickets and the staff desk: SLA clocks, relays, roles, the audit trail."""
