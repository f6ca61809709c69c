"""Telegram: reading updates, sending replies and outbox messages, aiogram and PTB, the webhook."""
