"""Integration tests of how free text, guesses and mistyped commands are answered."""
