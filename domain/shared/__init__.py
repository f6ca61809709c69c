"""What every feature shares: the clock, errors, phones, the policy file and the unit of work."""
