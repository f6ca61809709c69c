"""Scheduled jobs, one module per feature; each lists its own JobSpecs."""
