"""Every fundamental feature, in model order, with a one-line meaning for people (price reasons)."""

from __future__ import annotations

from giddyup.features import connections, draw, horse_form, race_context, relative, versus_market

FEATURE_DESCRIPTIONS: dict[str, str] = {
    **race_context.DESCRIPTIONS,
    **horse_form.DESCRIPTIONS,
    **connections.DESCRIPTIONS,
    **draw.DESCRIPTIONS,
    **versus_market.DESCRIPTIONS,
    **relative.DESCRIPTIONS,
}
FEATURE_COLUMNS: tuple[str, ...] = tuple(FEATURE_DESCRIPTIONS)
CATEGORICAL_COLUMNS: tuple[str, ...] = race_context.CATEGORICAL
