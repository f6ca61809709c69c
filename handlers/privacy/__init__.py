"""Privacy: consent per purpose, the member's own data, erasure, merges, retention."""
