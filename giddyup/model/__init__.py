"""The win model: from a FeatureSet to p_model, p_win and p_place.

Stages (one module each):
- lgbm.py: LightGBM on the feature columns only. Objective "conditional_logit" (race softmax
  likelihood, gradient p - y within each race; with the 2nd and 3rd places as down-weighted
  rank-ordered stages) by default; "binary" + race softmax for comparison.
  Forward-chaining cross-validation over blocks of whole race days: each fold trains on older
  days and early-stops on, and predicts, the next block.
- race_probability.py: per-race softmax/normalisation and the conditional logit (numpy/scipy).
- calibration.py: centred isotonic map fitted on out-of-fold p_model, renormalised per race.
- combine.py: Benter's second stage, softmax(a log p_model + b log p_market + v), fitted out of
  fold, where v weighs point-in-time measures of what the market has missed before (horse, yard,
  rider, draw; features `*_vs_market*`).
- place.py: P(in the first k) from p_win, Harville with discount exponents fitted from finishing orders.
- train.py: the whole fit, and the time-ordered holdout; bundle.py: the fitted model as files.
- train_job.py / registry.py / promotion.py / pyfunc.py: `giddyup train`, MLflow and modeling.models.
- win_model.py: the production model as scoring uses it; evaluate.py, evaluation_report.py, scores.py:
  `giddyup evaluate`; walk_forward.py and walk_steps.py: its --retrain-every mode; edge.py: the
  combined model's log-loss gain over the market with its interval (the evidence of edge).

combine.py, place.py, race_probability.py and calibration.py need numpy (and scipy to fit) only:
the intraday refresh prices a card with them from the coefficients in modeling.models.combiner_json,
without importing LightGBM or MLflow.
"""

import os

# LightGBM's OpenMP threads spin while they wait; on a machine shared with other jobs that made two
# threads 5-20x slower than one (measured here). Passive waiting costs next to nothing on free
# cores. Set before lightgbm loads its OpenMP runtime; an explicit OMP_WAIT_POLICY wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
