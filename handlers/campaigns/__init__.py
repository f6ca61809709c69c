"""Campaigns in the conversation: the managers' /campaigns and the buttons of an offer."""
