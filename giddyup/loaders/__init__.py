"""Writers of racing.* for dev copies: the simulated world, the Hong Kong results."""
