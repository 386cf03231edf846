"""``GET …/jupyter-lease/api/doctor``: the doctor report as the server sees it, from the handler
in an in-process ``jupyter_server`` (``jp_fetch``) against the simulator: logged in only, JSON,
no secret."""

from __future__ import annotations

import json

import pytest

from tests.support.checks import assert_no_secret
from tests.support.inprocess import get

pytest.importorskip("pytest_jupyter", reason="needs pytest-jupyter[server] (jupyter_server>=2)")
pytestmark = pytest.mark.usefixtures("lease_env")

DOCTOR = "jupyter-lease/api/doctor"


async def test_the_doctor_report_is_served_as_json_without_secrets(jp_fetch, jp_auth_header, sim):
    response = await get(jp_fetch, DOCTOR)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    report = response.json()
    assert report["ok"] is True, report
    rows = {r["setting"]: r for s in report["sections"] for r in s["rows"]}
    assert rows["notebook id"]["value"] == sim.notebook_id, rows["notebook id"]
    assert {"setting", "value", "source", "status", "hint"} <= set(rows["notebook id"])
    assert_no_secret(json.dumps(report), sim=sim)
    token = jp_auth_header["Authorization"].split()[-1]
    assert token not in json.dumps(report)


async def test_the_doctor_report_needs_a_login(jp_fetch):
    response = await get(jp_fetch, DOCTOR, headers={"Authorization": ""})
    assert response.status_code == 403, response.text
    assert "sections" not in response.text
