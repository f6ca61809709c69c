"""Callbacks in the chat: the member's check-in answers and the staff's call queue."""
