"""Coupons in SQL."""
