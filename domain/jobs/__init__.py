"""Scheduled jobs as the business records them: runs and finished pieces of work."""
