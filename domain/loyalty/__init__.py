"""Loyalty: the points ledger, receipts, tiers and what a member's points look like."""
