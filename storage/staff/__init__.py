"""Staff accounts in SQL."""
