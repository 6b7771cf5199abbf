"""Reports for people: the performance report of bets (performance.py)."""
