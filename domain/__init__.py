"""The shop's business rules: members, points, tiers and the ports they need. Plain Python."""
