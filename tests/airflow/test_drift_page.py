"""The on-call drift page, served for real (uvicorn) from a real database and read by a real
headless Chromium. The only stand-in is Airflow's login check, replaced for the browser test by
"logged in" (a separate test shows that without a login the page answers 401)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.support.airflow_env import airflow_db

EVIL_COLUMN = "<script>alert('x')</script>"
REPORTS = [  # (date, model version, status, share, drifted columns)
    ("2026-03-27", "7", "ok", 0.05, ["going_code"]),
    ("2026-03-29", "8", "alert", 0.6, ["or_rank", EVIL_COLUMN, "days_since_run"]),
    ("2026-03-28", "7", "warn", 0.25, ["draw_bias"]),
]


@pytest.fixture
def drift_world(migrated_dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """A few drift report rows and their small HTML/JSON files under a private artifacts dir."""
    artifacts = tmp_path / "artifacts"
    ids = {}
    with psycopg.connect(migrated_dsn, autocommit=True) as conn:
        for day, version, status, share, columns in REPORTS:
            folder = artifacts / "drift" / day
            folder.mkdir(parents=True)
            (folder / "report.html").write_text(f"<html><body><h1>Evidently drift {day}</h1></body></html>")
            (folder / "report.json").write_text(f'{{"date": "{day}"}}')
            ids[day] = conn.execute(
                """INSERT INTO modeling.drift_reports (report_date, model_version, n_features, n_drifted,
                       share_drifted, drifted_columns, status, html_path, json_path)
                   VALUES (%s, %s, 20, %s, %s, %s, %s, %s, %s) RETURNING report_id""",
                (
                    day,
                    version,
                    len(columns),
                    share,
                    psycopg.types.json.Jsonb(columns),
                    status,
                    str(folder / "report.html"),
                    str(folder / "report.json"),
                ),
            ).fetchone()[0]
        # A row whose file lies outside the artifacts directory must not be served.
        ids["outside"] = conn.execute(
            """INSERT INTO modeling.drift_reports (report_date, model_version, n_features, n_drifted,
                   share_drifted, status, html_path, json_path)
               VALUES ('2026-01-01', '1', 1, 0, 0, 'ok', '/etc/hostname', '/etc/hostname') RETURNING report_id"""
        ).fetchone()[0]
    monkeypatch.setenv("PG_DSN", migrated_dsn)
    monkeypatch.setenv("GIDDYUP_ARTIFACTS_DIR", str(artifacts))
    return ids


@pytest.fixture
def logged_in_app(airflow):
    import giddyup_drift_page

    app = giddyup_drift_page.GiddyUpDriftPagePlugin.fastapi_apps[0]["app"]  # the app Airflow mounts
    app.dependency_overrides[giddyup_drift_page.login_required] = lambda: None
    yield app
    app.dependency_overrides.clear()


@pytest.fixture
def page_url(logged_in_app, drift_world) -> Iterator[str]:
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(logged_in_app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}/drift"
    server.should_exit = True
    thread.join(timeout=10)


def chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    if os.environ.get("CI"):
        pytest.fail("chromium is not installed (.ci/run installs it with apt-get)")
    pytest.skip("chromium is not installed: apt-get install -y chromium")


def browse(url: str, profile: Path) -> str:
    """The DOM after Chromium loaded the page (headless, no network but this machine)."""
    done = subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.mark.slow
def test_browser_lists_reports_newest_first_and_opens_one(page_url: str, tmp_path: Path) -> None:
    dom = browse(page_url, tmp_path / "chromium-profile")
    rows = re.findall(r'<tr data-status="(\w+)">\s*<td>([\d-]+)</td>\s*<td>(\w+)</td>', dom)
    assert rows == [
        ("alert", "2026-03-29", "8"),
        ("warn", "2026-03-28", "7"),
        ("ok", "2026-03-27", "7"),
        ("ok", "2026-01-01", "1"),
    ]
    assert "60% (3 of 20)" in dom and "days_since_run" in dom
    # The hostile column name is shown as text, never as markup.
    assert "&lt;script&gt;alert('x')&lt;/script&gt;" in dom and "<script>" not in dom
    first_link = re.search(r'<a href="(drift/\d+/html)">report</a>', dom)
    assert first_link is not None
    report = browse(page_url.rsplit("/", 1)[0] + "/" + first_link.group(1), tmp_path / "chromium-profile-2")
    assert "Evidently drift 2026-03-29" in report


def test_report_files_outside_the_artifacts_dir_are_refused(logged_in_app, drift_world) -> None:
    from fastapi.testclient import TestClient

    client = TestClient(logged_in_app)
    assert client.get(f"/drift/{drift_world['2026-03-28']}/json").json() == {"date": "2026-03-28"}
    assert client.get(f"/drift/{drift_world['outside']}/html").status_code == 404
    assert client.get("/drift/999999/html").status_code == 404


def test_page_requires_an_airflow_login(airflow, drift_world) -> None:
    import giddyup_drift_page
    from fastapi.testclient import TestClient

    client = TestClient(giddyup_drift_page.create_app())
    response = client.get("/drift")
    assert response.status_code == 401
    assert "2026-03-29" not in response.text


def test_unreachable_database_is_one_line_without_the_dsn(logged_in_app, monkeypatch) -> None:
    from fastapi.testclient import TestClient

    secret_dsn = "postgresql://oncall:Pw-9f8e7d@127.0.0.1:1/none"
    monkeypatch.setenv("PG_DSN", secret_dsn)
    response = TestClient(logged_in_app).get("/drift")
    assert response.status_code == 503
    assert "Pw-9f8e7d" not in response.text and "drift_reports" in response.text


def test_airflow_api_server_mounts_the_page_behind_its_login(airflow, drift_world) -> None:
    """Airflow's own API server app (as `airflow api-server` builds it), with its real login:
    anonymous requests get 401; a logged-in UI user's session cookie gets the page."""
    from airflow.api_fastapi.app import create_app, get_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from fastapi.testclient import TestClient

    airflow_db()  # the login checks revoked tokens in Airflow's metadata database
    client = TestClient(create_app("core"))
    assert client.get("/giddyup/drift").status_code == 401
    token = get_auth_manager().generate_jwt(SimpleAuthManagerUser(username="oncall", role="viewer"))
    client.cookies.set("_token", token)
    page = client.get("/giddyup/drift")
    assert page.status_code == 200 and "2026-03-29" in page.text
    plugins = client.get("/api/v2/plugins").json()["plugins"]
    [ours] = [plugin for plugin in plugins if plugin["name"] == "giddyup_drift_page"]
    assert ours["external_views"][0]["href"] == "giddyup/drift"
