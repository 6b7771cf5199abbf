"""`giddyup migrate`, `giddyup db status|stop|url` and `giddyup smoke`."""

from __future__ import annotations

import datetime as dt
import json

import typer
from rich.table import Table

from giddyup.cli.common import console

db_app = typer.Typer(help="Manage the embedded PostgreSQL server (used when PG_DSN is unset).", no_args_is_help=True)


def migrate_command(
    with_racing_reference: bool = typer.Option(
        False,
        "--with-racing-reference",
        help="Also create the racing schema (reference copy) and mark this database as a dev copy.",
    ),
) -> None:
    """Apply pending SQL migrations (modeling schema; racing reference with the flag)."""
    from giddyup.db.connect import connection
    from giddyup.db.migrate import migrate

    with connection(autocommit=True) as conn:
        result = migrate(conn, with_racing_reference=with_racing_reference)
    for notice in result.notices:
        if notice and "already exists, skipping" not in notice:
            console.print(f"note: {notice}")
    if result.marked_dev_copy:
        console.print("marked this database as a giddyup dev copy (racing.* writable by giddyup)")
    if result.applied:
        for name in result.applied:
            console.print(f"applied {name}")
    console.print(f"{len(result.applied)} applied, {result.already_applied} already applied")


@db_app.command("status")
def db_status() -> None:
    """Say which database giddyup uses and, for the embedded one, whether it runs."""
    from giddyup.config import get_settings
    from giddyup.db.connect import describe_target
    from giddyup.db.embedded import EmbeddedPostgres

    settings = get_settings()
    if settings.pg_dsn is not None:
        console.print(f"PG_DSN is set: giddyup uses {describe_target(settings.pg_dsn.get_secret_value())}")
        return
    status = EmbeddedPostgres(settings.artifacts_path).status()
    if status.running:
        console.print(f"embedded PostgreSQL running (pid {status.pid}), data in {status.data_dir}")
        console.print(f"url: {status.dsn()}")
    else:
        console.print(f"embedded PostgreSQL stopped, data in {status.data_dir} (starts on the next command)")


@db_app.command("stop")
def db_stop() -> None:
    """Stop the embedded PostgreSQL server (its data stays)."""
    from giddyup.config import get_settings
    from giddyup.db.embedded import EmbeddedPostgres

    settings = get_settings()
    stopped = EmbeddedPostgres(settings.artifacts_path).stop()
    console.print("embedded PostgreSQL stopped" if stopped else "embedded PostgreSQL was not running")
    if settings.pg_dsn is not None:
        console.print("note: PG_DSN is set, so giddyup does not use the embedded server anyway")


@db_app.command("url")
def db_url() -> None:
    """Print the embedded server's URL (starting it if needed), e.g. for psql."""
    from giddyup.config import get_settings
    from giddyup.db.embedded import EmbeddedPostgres

    settings = get_settings()
    if settings.pg_dsn is not None:
        # A configured DSN is a secret; the embedded one has no password (trust on a private socket).
        console.print("PG_DSN is set; giddyup uses it (not printed: DSNs are secret)")
        raise typer.Exit(1)
    typer.echo(EmbeddedPostgres(settings.artifacts_path).ensure_running().dsn())


SMOKE_MODEL = ("giddyup_smoke", "0")
SMOKE_AS_OF = dt.datetime(2000, 1, 1, 12, 0, tzinfo=dt.UTC)
SMOKE_RACE_ID = -1  # a race id no loader uses


def smoke_command() -> None:
    """Register a demo model row, publish a demo signal for a demo race, print both (safe to re-run)."""
    import polars as pl

    from giddyup.db.connect import connection
    from giddyup.publish import publish_signals

    with connection() as conn:
        # DO NOTHING (not a no-op DO UPDATE) so that a second run leaves the row as it was.
        conn.execute(
            """INSERT INTO modeling.models (name, version, stage, artifact_uri, metrics_json)
               VALUES (%s, %s, 'development', NULL, %s)
               ON CONFLICT (name, version) DO NOTHING""",
            (*SMOKE_MODEL, json.dumps({"note": "smoke test model"})),
        )
        model_id = conn.execute(
            "SELECT model_id FROM modeling.models WHERE name = %s AND version = %s", SMOKE_MODEL
        ).fetchone()[0]  # type: ignore[index]
        conn.commit()
        signals = pl.DataFrame(
            {
                "as_of": [SMOKE_AS_OF] * 2,
                "race_id": [SMOKE_RACE_ID] * 2,
                "horse_id": [-1, -2],
                "model_id": [model_id] * 2,
                "p_win": [0.6, 0.4],
                "p_place": [1.0, 1.0],
                "fair_odds_win": [1 / 0.6, 2.5],
                "best_odds_win": [1.8, 2.6],
                "best_odds_src": ["smoke", "smoke"],
                "edge_win": [0.6 * 1.8 - 1, 0.4 * 2.6 - 1],
                "reasons_json": [json.dumps({"summary": "smoke test row"})] * 2,
            }
        )
        result = publish_signals(conn, signals)
        model_row = conn.execute(
            "SELECT model_id, name, version, stage, created_at FROM modeling.models WHERE model_id = %s",
            (model_id,),
        ).fetchone()
        signal_rows = conn.execute(
            """SELECT as_of, race_id, horse_id, model_id, p_win, fair_odds_win, best_odds_win, edge_win
               FROM modeling.signals WHERE race_id = %s AND model_id = %s ORDER BY horse_id DESC""",
            (SMOKE_RACE_ID, model_id),
        ).fetchall()

    models = Table("model_id", "name", "version", "stage", "created_at", title="modeling.models")
    models.add_row(*(str(v) for v in model_row))  # type: ignore[union-attr]
    console.print(models)
    table = Table(
        "as_of",
        "race_id",
        "horse_id",
        "model_id",
        "p_win",
        "fair_odds_win",
        "best_odds_win",
        "edge_win",
        title="modeling.signals",
    )
    for row in signal_rows:
        table.add_row(*(f"{v:.4f}" if isinstance(v, float) else str(v) for v in row))
    console.print(table)
    console.print(
        f"published {result.rows} rows: {result.inserted} inserted, {result.updated} updated, {result.unchanged} unchanged"
    )
