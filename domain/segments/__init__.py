"""Segments: per-member purchase statistics, RFM scores, named segments, lifecycle and churn."""
