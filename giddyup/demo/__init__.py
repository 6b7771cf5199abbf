"""`giddyup demo`: a whole racing day on a simulated world, end to end, in a few minutes.

database.py prepares (or refuses) the database, day.py runs the day's jobs on a simulated clock,
checks.py measures what the day produced (coverage, cadence, bets, settlement, re-run changes).
"""
