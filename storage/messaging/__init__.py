"""The outbox and chat topics in SQL."""
