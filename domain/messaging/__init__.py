"""Messaging: the outbox, its delivery rules, and the messenger port."""
