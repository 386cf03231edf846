"""The notebook id confirms itself on the first call: ShowNotebook for a guess, ListNotebooks
matched on the ``base_url``, against the simulator over HTTP."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from jupyter_lease._errors import ConfigurationError, NotFoundError
from jupyter_lease.core.retry import RetryPolicy
from jupyter_lease.doctor.report import DoctorOptions, run_doctor
from jupyter_lease.modelarts.client import LeaseClient
from jupyter_lease.modelarts.confirm import remembered
from jupyter_lease.modelarts.credentials import resolve_credentials
from jupyter_lease.modelarts.discovery import discover
from jupyter_lease.simulator.app import Simulator

REAL = "5a2c7e0b-3f41-4d6e-9b8a-0c1d2e3f4a5b"  # the instance this notebook is
URL_ID = "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a"  # the UUID in its url (and base_url)


def client_for(sim: Simulator, tmp_path: Path, base_url=None, hostname="laptop", **env_extra):
    runtime = tmp_path / "runtime"
    runtime.mkdir(exist_ok=True)
    if base_url is not None:
        info = {"pid": os.getpid(), "base_url": base_url}
        (runtime / "jpserver-1.json").write_text(json.dumps(info))
    env = {k: v for k, v in sim.environ().items() if k != "JUPYTER_LEASE_NOTEBOOK_ID"}
    env.update(env_extra)
    location = discover(environ=env, runtime_dir=str(runtime), hostname=hostname)
    creds = resolve_credentials(environ=env, use_metadata=False)
    return LeaseClient(location, creds, sleep=lambda s: None, retry=RetryPolicy(attempts=1))


def doctor_options(sim: Simulator, tmp_path: Path, hostname: str) -> DoctorOptions:
    env = {k: v for k, v in sim.environ().items() if k != "JUPYTER_LEASE_NOTEBOOK_ID"}
    runtime = str(tmp_path / "runtime")
    return DoctorOptions(environ=env, runtime_dir=runtime, hostname=hostname, use_metadata=False)


def shows(sim: Simulator) -> int:
    return sim.count(method="GET", path_suffix=sim.notebook_id)


@pytest.fixture
def listed(simulator: Simulator) -> Simulator:
    """Several instances; REAL's url holds URL_ID, not its own id."""
    simulator.add_notebook("11111111-2222-4333-8444-555555555555", lease=3600)
    simulator.add_notebook(REAL, lease=5000, url_id=URL_ID)
    simulator.add_notebook("66666666-7777-4888-9999-aaaaaaaaaaaa", lease=3600)
    return simulator


def test_a_hostname_guess_is_confirmed_once_by_show_notebook(simulator, tmp_path):
    client = client_for(simulator, tmp_path, hostname=f"notebook-{simulator.notebook_id}")
    client.show()
    client.show()
    done = client.confirmation
    assert done is not None and done.confirmed and done.notebook_id == simulator.notebook_id
    assert done.line() == (
        f"notebook id: {done.notebook_id} from hostname notebook-{done.notebook_id} "
        "— confirmed by ShowNotebook"
    )
    assert shows(simulator) == 1
    again = client_for(simulator, tmp_path, hostname=f"notebook-{simulator.notebook_id}")
    again.show()
    assert shows(simulator) == 1  # remembered per process
    assert remembered(again.location) == done
    row = run_doctor(doctor_options(simulator, tmp_path, f"notebook-{done.notebook_id}"))
    notebook = row.section("Summary").rows[0]
    assert (notebook.status, notebook.hint) == ("ok", done.line())


def test_a_wrong_base_url_guess_falls_through_to_list_notebooks(listed, tmp_path):
    client = client_for(listed, tmp_path, base_url=f"/{URL_ID}/")
    assert client.location.notebook_id.value == URL_ID  # the guess
    lease = client.show()
    assert client.notebook_id == REAL
    assert lease.duration == 5_000_000  # ms
    line = client.confirmation.line()
    assert f"found by ListNotebooks matching base_url /{URL_ID}/" in line
    assert "ModelArts.6309 not found" in line


def test_with_no_guess_list_notebooks_matches_the_base_url(listed, tmp_path):
    # A UUID inside a segment is not the documented /<id>/ shape: no guess, but a match key.
    client = client_for(listed, tmp_path, base_url=f"/user/nb-{URL_ID}/")
    assert not client.location.notebook_id.ok
    client.show()
    assert client.notebook_id == REAL and client.confirmation.confirmed
    assert listed.count(method="GET", path_suffix="/notebooks") == 1  # one page


def test_two_matches_are_refused_in_one_line(listed, tmp_path):
    listed.add_notebook("bbbbbbbb-cccc-4ddd-8eee-ffffffffffff", url_id=URL_ID)
    client = client_for(listed, tmp_path, base_url=f"/{URL_ID}/")
    with pytest.raises(ConfigurationError) as err:
        client.show()
    text = str(err.value)
    assert "\n" not in text and "2 instances" in text and REAL in text
    assert "JUPYTER_LEASE_NOTEBOOK_ID" in text
    assert listed.count(path_suffix="/lease") == 0  # no lease call on an unconfirmed id


def test_an_explicit_id_is_only_checked_and_its_not_found_names_where_it_came_from(
    listed, tmp_path
):
    wrong = "00000000-0000-4000-8000-000000000000"
    client = client_for(listed, tmp_path, base_url=f"/{URL_ID}/", JUPYTER_LEASE_NOTEBOOK_ID=wrong)
    with pytest.raises(NotFoundError) as err:
        client.show()
    text = str(err.value)
    assert "\n" not in text and f"{wrong} from JUPYTER_LEASE_NOTEBOOK_ID not found" in text
    assert listed.count(path_suffix="/notebooks") == 0  # never second-guessed
    assert client.notebook_id == wrong


def test_a_network_failure_while_confirming_leaves_the_guess_unconfirmed(simulator, tmp_path):
    simulator.inject("503", count=1, path=f"/notebooks/{simulator.notebook_id}")
    client = client_for(simulator, tmp_path, base_url=f"/{simulator.notebook_id}/")
    lease = client.show()  # still works
    assert lease.duration > 0
    done = client.confirmation
    assert not done.confirmed and done.notebook_id == simulator.notebook_id
    assert "not confirmed" in done.detail and "service failed" in done.detail
    assert remembered(client.location) == done  # for doctor
    asked = simulator.count(method="GET", path_suffix=simulator.notebook_id)
    client_for(simulator, tmp_path, base_url=f"/{simulator.notebook_id}/").show()
    assert simulator.count(method="GET", path_suffix=simulator.notebook_id) == asked + 1  # again
