"""Scheduled jobs and the outbox sender: everything that happens without a person writing first."""
