"""Storage of handled Telegram update ids."""
