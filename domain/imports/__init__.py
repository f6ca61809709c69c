"""Imports of the chain's CSV exports: checking rows one by one."""
