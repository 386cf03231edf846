"""``GET …/jupyter-lease/api/doctor``: the doctor report as the server sees it, in a real
``jupyter_server`` against the simulator: logged in only, JSON, no secret."""

from __future__ import annotations

import json
from typing import Iterator

import pytest

from jupyter_lease.simulator.app import Simulator
from tests.support.checks import assert_no_secret
from tests.support.jupyter import TOKEN, JupyterServer, clean_env

DOCTOR = "jupyter-lease/api/doctor"


@pytest.fixture(scope="module")
def server(sim: Simulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    root = tmp_path_factory.mktemp("doctor")
    srv = JupyterServer(root, {**clean_env(), **sim.environ()}, token=TOKEN, base_url="/u/x/")
    try:
        srv.start()
        yield srv
    finally:
        srv.stop()


def test_the_doctor_report_is_served_as_json_without_secrets(server, sim):
    response = server.get(DOCTOR)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    report = response.json()
    assert report["ok"] is True, report
    rows = {r["setting"]: r for s in report["sections"] for r in s["rows"]}
    assert rows["notebook id"]["value"] == sim.notebook_id, rows["notebook id"]
    assert {"setting", "value", "source", "status", "hint"} <= set(rows["notebook id"])
    assert_no_secret(json.dumps(report), sim=sim)
    assert TOKEN not in json.dumps(report)


def test_the_doctor_report_needs_a_login(server):
    response = server.get(DOCTOR, auth=False)
    assert response.status_code == 403, response.text
    assert "sections" not in response.text
