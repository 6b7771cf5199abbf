"""On-call page: GiddyUp's drift reports, newest first, each opening its Evidently HTML report.

Served by the Airflow API server as a FastAPI sub-application under /giddyup (Airflow 3 plugin
`fastapi_apps`) and shown in the Browse menu as an embedded view (`external_views`). It reads
`modeling.drift_reports` server-side through the Airflow connection `giddyup_db`, or else PG_DSN
(the factory's order, giddyup_tasks.database_dsn), and serves report files only from inside the
artifacts folder (GIDDYUP_ARTIFACTS_DIR). Everything it shows is HTML-escaped.
Only users logged in to Airflow get it (the API server's own session cookie or bearer token).
"""

from __future__ import annotations

import html
import os
from pathlib import Path
from typing import ClassVar

import psycopg
from airflow.api_fastapi.core_api.security import requires_authenticated
from airflow.plugins_manager import AirflowPlugin
from fastapi import Depends, FastAPI, HTTPException
from fastapi.responses import FileResponse, HTMLResponse
from giddyup_tasks import database_dsn as resolve_database_dsn

from giddyup.artifacts import container_artifacts_dir

URL_PREFIX = "/giddyup"
LIST_LIMIT = 365

login_required = requires_authenticated()

REPORTS_SQL = """
SELECT report_id, report_date, model_version, status, share_drifted, n_drifted, n_features,
       drifted_columns, created_at
FROM modeling.drift_reports
ORDER BY report_date DESC, created_at DESC, report_id DESC
LIMIT %s
"""

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>GiddyUp drift reports</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5rem; color: #1a202c; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ text-align: left; padding: .4rem .6rem; border-bottom: 1px solid #e2e8f0; vertical-align: top; }}
.status {{ font-weight: 600; padding: .1rem .5rem; border-radius: .6rem; }}
.status-ok {{ background: #c6f6d5; }} .status-warn {{ background: #fefcbf; }}
.status-alert {{ background: #fed7d7; }} .status-unknown {{ background: #e2e8f0; }}
.features {{ font-size: .9em; color: #4a5568; }}
</style></head>
<body>
<h1>Drift reports</h1>
<p>Written by <code>giddyup drift</code> after the morning scoring; an <b>alert</b> also fails that
DAG run. Newest first.</p>
{body}
</body></html>
"""


def database_dsn() -> str:
    """giddyup_tasks.database_dsn, with the API server's own connection lookup (its metadata
    database and secrets backends)."""
    from airflow.models.connection import Connection

    try:
        dsn = resolve_database_dsn(Connection.get_connection_from_secrets)
    except Exception:  # a broken secrets backend: the page says no database, never why in detail
        dsn = None
    if not dsn:
        raise HTTPException(503, "no database configured: set the giddyup_db connection or PG_DSN")
    return dsn


def fetch_reports(limit: int = LIST_LIMIT) -> list[dict]:
    try:
        with psycopg.connect(database_dsn(), connect_timeout=5) as conn:
            cur = conn.execute(REPORTS_SQL, (limit,))
            names = [col.name for col in cur.description or []]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    except psycopg.Error as exc:
        # One line without the DSN: the page must never show a connection string.
        raise HTTPException(503, f"cannot read modeling.drift_reports ({type(exc).__name__})") from None


def report_row(report: dict) -> str:
    esc = html.escape
    status = str(report["status"])
    css = status if status in ("ok", "warn", "alert") else "unknown"
    features = ", ".join(esc(str(name)) for name in (report["drifted_columns"] or [])) or "none"
    rid = int(report["report_id"])
    return (
        f'<tr data-status="{esc(css)}">'
        f"<td>{esc(str(report['report_date']))}</td>"
        f"<td>{esc(str(report['model_version']))}</td>"
        f'<td><span class="status status-{css}">{esc(status)}</span></td>'
        f"<td>{float(report['share_drifted']):.0%} ({int(report['n_drifted'])} of {int(report['n_features'])})</td>"
        f'<td class="features">{features}</td>'
        f'<td><a href="drift/{rid}/html">report</a> · <a href="drift/{rid}/json">json</a></td>'
        "</tr>"
    )


def render_page(reports: list[dict]) -> str:
    if not reports:
        return PAGE.format(body="<p>No drift report yet.</p>")
    head = "<tr><th>Date</th><th>Model version</th><th>Status</th><th>Share drifted</th><th>Drifted features</th><th></th></tr>"
    rows = "\n".join(report_row(report) for report in reports)
    return PAGE.format(body=f'<table id="reports"><thead>{head}</thead><tbody>\n{rows}\n</tbody></table>')


FILE_SQL = {
    "html": "SELECT html_path FROM modeling.drift_reports WHERE report_id = %s",
    "json": "SELECT json_path FROM modeling.drift_reports WHERE report_id = %s",
}


def report_file(report_id: int, kind: str) -> Path:
    """The report's file, only if it lies inside the artifacts directory (paths come from the DB)."""
    with psycopg.connect(database_dsn(), connect_timeout=5) as conn:
        row = conn.execute(FILE_SQL[kind], (report_id,)).fetchone()
    if row is None:
        raise HTTPException(404, "no such drift report")
    root = Path(container_artifacts_dir()).resolve()
    path = Path(row[0]).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise HTTPException(404, "the report file is not in the artifacts directory")
    # Checked here, not left to FileResponse: it sends its headers before opening the file, so an
    # unreadable file would come out as a cut transfer instead of an error naming the file.
    if not os.access(path, os.R_OK):
        raise HTTPException(500, f"the drift page's user cannot read the report file {path.name}")
    return path


def create_app() -> FastAPI:
    app = FastAPI(title="GiddyUp on-call", dependencies=[Depends(login_required)], docs_url=None, redoc_url=None)

    @app.get("/drift", response_class=HTMLResponse)
    def drift_reports() -> str:
        return render_page(fetch_reports())

    @app.get("/drift/{report_id}/html")
    def drift_report_html(report_id: int) -> FileResponse:
        return FileResponse(report_file(report_id, "html"), media_type="text/html")

    @app.get("/drift/{report_id}/json")
    def drift_report_json(report_id: int) -> FileResponse:
        return FileResponse(report_file(report_id, "json"), media_type="application/json")

    return app


class GiddyUpDriftPagePlugin(AirflowPlugin):
    name = "giddyup_drift_page"
    fastapi_apps: ClassVar[list] = [{"app": create_app(), "url_prefix": URL_PREFIX, "name": "GiddyUp drift reports"}]
    external_views: ClassVar[list] = [
        {
            "name": "Drift reports",
            "href": "giddyup/drift",  # relative: works behind a proxy prefix
            "url_route": "giddyup-drift",  # shown inside the Airflow UI at /plugin/giddyup-drift
            "destination": "nav",
            "category": "browse",
        }
    ]
