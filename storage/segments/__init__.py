"""Storage of segments: member statistics, scores and the history of refreshes."""
