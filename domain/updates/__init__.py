"""Updates: Telegram's update ids already handled, so a redelivered update runs once."""
