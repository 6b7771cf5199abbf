"""`giddyup`: one command-line program, one subcommand per job.

Command modules import their heavy dependencies (polars, lightgbm, mlflow) inside the command
function, so `giddyup --help` and the quick paths (a refresh with nothing due) start fast.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import TYPE_CHECKING, NoReturn

import typer

from giddyup.cli import (
    backtest_commands,
    data_commands,
    db_commands,
    demo_commands,
    features_commands,
    model_commands,
    monitor_commands,
    race_day_commands,
    sim_commands,
)
from giddyup.cli.common import state
from giddyup.errors import GiddyUpError

if TYPE_CHECKING:
    from typer._click.exceptions import UsageError

app = typer.Typer(
    name="giddyup",
    help="GiddyUp: win and place prices for UK and Irish racing, from features to settlement.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _global_options(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show details and tracebacks of errors."),
) -> None:
    state.verbose = verbose
    # MLflow installs its own INFO handler on import; keep its chatter out of job output.
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "INFO" if verbose else "WARNING")
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("alembic", "mlflow", "urllib3", "matplotlib", "git", "httpx", "numba"):
        logging.getLogger(noisy).setLevel(logging.WARNING if not verbose else logging.INFO)


app.add_typer(db_commands.db_app, name="db")
app.command("migrate")(db_commands.migrate_command)
app.command("smoke")(db_commands.smoke_command)
# Later stages register their commands here, one line each.
app.add_typer(sim_commands.sim_app, name="sim")
app.command("results")(sim_commands.results_command)
app.add_typer(features_commands.features_app, name="features")
app.add_typer(data_commands.load_app, name="load")
app.add_typer(data_commands.data_app, name="data")
app.command("drift")(monitor_commands.drift_command)
app.command("score")(race_day_commands.score_command)
app.command("refresh")(race_day_commands.refresh_command)
app.add_typer(race_day_commands.bets_app, name="bets")
app.command("settle")(race_day_commands.settle_command)
app.command("report")(race_day_commands.report_command)
app.command("train")(model_commands.train_command)
app.command("evaluate")(model_commands.evaluate_command)
app.add_typer(model_commands.model_app, name="model")
app.command("demo")(demo_commands.demo_command)
app.command("backtest")(backtest_commands.backtest_command)


def main() -> None:
    """Console entry point: expected failures print one line on stderr and exit non-zero.

    Everything printed (log records, MLflow's own handler, tracebacks under --verbose) passes
    through giddyup.redaction, so no password of PG_DSN or MLFLOW_TRACKING_URI is ever shown."""
    # typer vendors click as typer._click (its BadParameter derives from this UsageError)
    from typer import Abort
    from typer._click.exceptions import UsageError

    from giddyup import redaction

    redaction.install()
    try:
        try:
            code = app(standalone_mode=False)
        finally:
            redaction.protect_handlers()
    except UsageError as exc:  # a missing option, an unknown one, a bad value
        if not exc.format_message().strip():  # a group run without a command: its help, as before
            exc.show()
            sys.exit(exc.exit_code)
        _fail(_usage_message(exc), exc.exit_code)
    except Abort:
        _fail("interrupted", 130)
    except GiddyUpError as exc:
        if state.verbose:
            _print_traceback(exc)
        _fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    except Exception as exc:  # a database, MLflow or file-system error we did not translate, or a bug
        from giddyup.cli.common import describe_unexpected

        message = describe_unexpected(exc)
        if message is None or state.verbose:
            _print_traceback(exc)
        if message is None:
            _fail(f"unexpected {type(exc).__name__} (a bug; the traceback is above)", 1)
        _fail(message, 1)
    sys.stdout.flush()
    sys.exit(code if isinstance(code, int) else 0)


def _usage_message(exc: UsageError) -> str:
    message = exc.format_message().strip().replace("\n", " ")
    command = exc.ctx.command_path if exc.ctx is not None else "giddyup"
    return f"{message} (see `{command} --help`)"


def _print_traceback(exc: BaseException) -> None:
    import traceback

    from giddyup.redaction import redact

    sys.stderr.write(redact("".join(traceback.format_exception(exc))))
    sys.stderr.flush()


def _fail(message: str, code: int) -> NoReturn:
    from giddyup.redaction import redact

    sys.stdout.flush()
    line = " ".join(redact(message).split())
    print(f"error: {line}", file=sys.stderr)
    sys.stderr.flush()
    sys.exit(code)


if __name__ == "__main__":
    main()
