"""A racing day: schedule, prices, scoring, intraday refresh, paper bets, settlement."""
