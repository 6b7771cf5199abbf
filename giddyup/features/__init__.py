"""Point-in-time features from racing history (Polars).

Entry points: giddyup.features.build (`build_training_features`, `build_race_day_features`,
`FEATURE_DESCRIPTIONS`). One module per concern:

| module | what |
|---|---|
| contract | the FeatureSet handed to the model, scoring and drift stages |
| read | racing.* rows through ADBC → Arrow → Polars (the columns used, nothing else) |
| prepare | starters only, field size, outcomes, normalised going/type/class/surface |
| pointintime | end-of-day states and strictly-earlier as-of joins (the no-look-ahead core) |
| shrinkage | empirical-Bayes A/E toward the mean |
| performance | per-run performance rating and speed figure (standards from earlier days) |
| versus_market | earlier runs against their prices (lbs better than the market expected): horse, yard, rider, draw |
| horse_form, connections, draw, race_context, relative | the feature groups |
| market | the race's own prices and implied probabilities (never model features) |
| catalog | feature order, categorical columns, a description per feature |
| leakage | the look-ahead checks the tests run |
"""
