"""Answering a survey in the chat: score buttons, the comment, skip."""
