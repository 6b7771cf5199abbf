"""Airflow loads GiddyUp's plugins: the task factory and the drift page (its menu entry and app)."""

from __future__ import annotations


def test_airflow_loads_the_drift_page_plugin(airflow) -> None:
    from airflow import plugins_manager

    _plugins, errors = plugins_manager._get_plugins()
    assert errors == {}
    apps, _ = plugins_manager.get_fastapi_plugins()
    drift_apps = [app for app in apps if app["url_prefix"] == "/giddyup"]
    assert len(drift_apps) == 1
    external_views, _ = plugins_manager._get_ui_plugins()
    menu = [view for view in external_views if view["name"] == "Drift reports"]
    assert menu, "the drift page has no entry in the Airflow menu"
    # Relative to the UI's <base href>, so it also works when Airflow is served under a prefix.
    assert menu[0]["href"] == "giddyup/drift" and menu[0]["url_route"]
    assert menu[0]["destination"] == "nav" and menu[0]["category"] == "browse"
