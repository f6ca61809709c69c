"""The points ledger and receipts in SQL."""
