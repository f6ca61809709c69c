"""Coupons in the chat: /coupons, /exchange and the staff's /redeem."""
