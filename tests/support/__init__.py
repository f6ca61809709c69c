"""What tests share: builders of stores, members and tickets, the Bot API stand-in, paths."""
