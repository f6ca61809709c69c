"""The member's own conversation: linking, joining, points, profile, language, /stop."""
