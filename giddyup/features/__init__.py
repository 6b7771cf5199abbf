"""Point-in-time features from racing history (Polars)."""
