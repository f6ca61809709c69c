"""Stores, members and chat accounts in SQL."""
