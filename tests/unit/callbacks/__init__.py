"""Unit tests of callbacks."""
