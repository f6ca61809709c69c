"""Talk that is no request: greetings, thanks, small talk, and the guesses offered when unsure."""
