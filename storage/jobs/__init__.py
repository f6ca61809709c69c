"""Scheduled jobs' runs and marks, the APScheduler job store URL, and leadership."""
