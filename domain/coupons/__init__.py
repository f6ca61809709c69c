"""Coupons: codes, issuing, the points exchange, redemption, expiry and birthday gifts."""
