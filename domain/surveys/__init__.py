"""Satisfaction surveys (CSAT and NPS): invitations, answers, detractor recovery, reports."""
