"""/healthz answers 200 when the database and broker work, 503 naming the failing part."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.utils import ConnectionHandler

from core import health
from tests.faults import free_port


@pytest.mark.django_db
def test_healthz_is_ok_when_database_and_broker_answer(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] and body["checks"]["broker"]["ok"]
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_healthz_names_the_broker_when_it_is_unreachable(client, settings):
    from celery import current_app as app

    original = app.conf.broker_url
    app.conf.broker_url = f"redis://127.0.0.1:{free_port()}/0"
    try:
        response = client.get("/healthz")
    finally:
        app.conf.broker_url = original
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["broker"]
    assert body["checks"]["database"]["ok"] is True


@pytest.mark.django_db
def test_healthz_names_the_database_when_it_is_unreachable(client, monkeypatch, tmp_path):
    conf = dict(connection.settings_dict)
    if conf["ENGINE"].endswith("sqlite3"):
        conf["NAME"] = str(tmp_path / "missing-dir" / "db.sqlite3")
    else:
        conf.update(HOST="127.0.0.1", PORT=free_port())
    broken = ConnectionHandler({"default": conf})["default"]
    monkeypatch.setattr(health, "connection", broken)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["database"]
