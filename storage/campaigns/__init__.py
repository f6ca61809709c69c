"""Campaign tables, repository and footprint: audiences, recipients, referrals."""
