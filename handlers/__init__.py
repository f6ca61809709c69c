"""The conversation: turns one inbound event into replies. Framework-neutral."""
