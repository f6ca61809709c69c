"""Members, stores and the chat accounts that speak for them."""
