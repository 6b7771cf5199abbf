"""`giddyup backtest`: replay days of a simulated world through the race-day jobs, at the instants
the DAGs run them, and report what following the signals would have paid.

Module map: replay_day (one day: retrain, the card, morning scoring, the intraday refreshes and
paper step, results, settlement) · run (the days in order, resume, progress, the backtest's own
settings) · evidence (per-bet and per-race figures: pnl, CLV, true expected value, reference
strategies, bootstrap intervals) · report (HTML, JSON, the MLflow run).
"""
