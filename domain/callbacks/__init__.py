"""Callbacks (回访): check-ins by the bot and the staff call queue, with their log."""
