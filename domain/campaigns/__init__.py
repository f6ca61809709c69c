"""Campaigns: targeted offers with control groups and measured uplift, and referrals."""
