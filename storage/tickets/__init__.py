"""Tickets, their threads and the audit log in SQL."""
