"""Survey invitations and answers in SQL."""
