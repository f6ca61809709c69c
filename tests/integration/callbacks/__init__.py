"""Integration tests of callbacks."""
