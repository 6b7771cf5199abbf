"""Helpers the tests (and benchmarks) share: test data makers, database and CLI helpers. Never
shipped: the images copy giddyup/ only."""
