"""Unit tests of membership rules."""
