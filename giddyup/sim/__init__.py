"""A simulated UK and Irish racing world with known true win probabilities (`giddyup sim`).

Entry points for other stages:
- `giddyup.sim.truth.true_probabilities(conn, race_ids | date range)`: the oracle (p_true per starter);
- `giddyup.sim.generate.generate(spec)` + `giddyup.sim.load.load_world(conn, world)`: make and write a world;
- `giddyup.sim.day_results.apply_results(conn, day)`: turn today's simulated card into results.

Module map: params (spec, presets, knobs) · courses · world (horses, people) · calendar (meetings,
races) · entries (declarations, weights, draw, jockeys) · engine (the day loop, true strength) ·
results (drawing a result) · market (beliefs and prices) · ladders · live (today's ticks) ·
frames (racing-shaped frames) · truth (the sim schema) · load · day_results · compare (vs real).
"""
