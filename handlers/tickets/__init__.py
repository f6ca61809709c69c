"""Complaints: the member's side (member.py) and the staff desk (staff.py)."""
