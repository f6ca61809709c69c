"""Storage of callbacks: their table, the log, the flags, the repository."""
