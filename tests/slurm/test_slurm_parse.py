"""The parsers, on outputs captured from Slurm 22.05.8 (``data/*-22.05.*``) and on the layout of
later versions (``data/squeue-24.11-shape.json``, from public documentation): pure, no cluster."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from jupyter_lease._errors import BadResponseError
from jupyter_lease.slurm.discover import job_id_from, signal_from_script
from jupyter_lease.slurm.parse import (
    parse_config,
    parse_duration,
    parse_scontrol_job,
    parse_squeue_json,
    parse_squeue_text,
)

DATA = Path(__file__).parent / "data"
SQUEUE_2205 = (DATA / "squeue-22.05.json").read_text()
SQUEUE_2411 = (DATA / "squeue-24.11-shape.json").read_text()
SCONTROL_2205 = (DATA / "scontrol-22.05.txt").read_text().splitlines()


def test_squeue_json_22_05_picks_the_job_from_every_job_listed():
    job = parse_squeue_json(SQUEUE_2205, "3")
    assert (job.job_id, job.state, job.active) == ("3", "RUNNING", True)
    assert (job.start, job.end, job.limit_s) == (1796149615, 1796149915, 300)
    assert job.how == "squeue --json"


def test_squeue_json_22_05_no_limit_is_no_deadline_not_a_year_away():
    job = parse_squeue_json(SQUEUE_2205, "2")  # time_limit null, end_time = start + 365 d
    assert job.limit_s is None and job.end is None and job.start == 1796149615


def test_squeue_json_a_job_not_listed_is_gone():
    assert parse_squeue_json(SQUEUE_2205, "99") is None


def test_squeue_json_later_layout_wrapped_numbers_and_state_lists():
    job = parse_squeue_json(SQUEUE_2411, "525")
    assert (job.state, job.start, job.end, job.limit_s) == ("RUNNING", 1755290346, 1755293946, 3600)
    unlimited = parse_squeue_json(SQUEUE_2411, "526")
    assert unlimited.limit_s is None and unlimited.end is None
    pending = parse_squeue_json(SQUEUE_2411, "527")
    assert pending.waiting and pending.start is None and not pending.active
    ending = parse_squeue_json(SQUEUE_2411, "528")
    assert ending.state == "COMPLETING" and not ending.active and not ending.waiting


def test_squeue_json_infinite_and_no_val_limits_of_old_layouts_are_no_limit():
    for value in (4294967295, 4294967294, {"set": True, "infinite": True, "number": 0}):
        text = json.dumps({"jobs": [{"job_id": 7, "job_state": "RUNNING", "time_limit": value}]})
        assert parse_squeue_json(text, "7").limit_s is None


@pytest.mark.parametrize(
    "text, words",
    [
        ("squeue: error: Invalid --json", "not JSON"),
        ("[]", "no 'jobs' list"),
        ('{"jobs": {"1": {}}}', "no 'jobs' list"),
        ('{"jobs": [{"job_id": 7, "job_state": "RUNNING", "time_limit": "5"}]}', "time_limit"),
        ('{"jobs": [{"job_id": 7, "job_state": {"current": ["RUNNING"]}}]}', "job_state"),
        ('{"jobs": [{"job_id": 7, "job_state": "RUNNING", "end_time": true}]}', "end_time"),
    ],
)
def test_squeue_json_unknown_shapes_are_one_line(text, words):
    with pytest.raises(BadResponseError) as caught:
        parse_squeue_json(text, "7")
    message = str(caught.value)
    assert words in message and "\n" not in message and message.startswith("Slurm's squeue")


def test_squeue_text_epoch_times_and_limits():
    job = parse_squeue_text("1 RUNNING 1796149546 1796151346 30:00\n", "1")
    assert (job.state, job.start, job.end, job.limit_s, job.how) == (
        "RUNNING",
        1796149546,
        1796151346,
        1800,
        "squeue",
    )
    unlimited = parse_squeue_text("2 RUNNING 1796149615 NONE UNLIMITED", "2")
    assert unlimited.limit_s is None and unlimited.end is None
    assert parse_squeue_text("", "2") is None  # finished: squeue -j lists nothing
    with pytest.raises(BadResponseError, match="3 fields"):
        parse_squeue_text("2 RUNNING 1796149615", "2")


def test_scontrol_iso_and_epoch_times():
    job = parse_scontrol_job(SCONTROL_2205[0], "1")  # printed without SLURM_TIME_FORMAT
    assert (job.state, job.limit_s, job.how) == ("RUNNING", 300, "scontrol")
    local = time.mktime(time.strptime("2026-12-01T18:30:43", "%Y-%m-%dT%H:%M:%S"))
    assert job.end == local and job.end - job.start == 300
    unlimited = parse_scontrol_job(SCONTROL_2205[1], "2")  # EndTime=Unknown, epoch times
    assert unlimited.limit_s is None and unlimited.end is None and unlimited.start == 1796149615
    assert parse_scontrol_job(SCONTROL_2205[1], "3") is None
    with pytest.raises(BadResponseError, match="no Key=Value"):
        parse_scontrol_job("slurm_load_jobs error", "3")
    with pytest.raises(BadResponseError, match="time 'soon'"):
        parse_scontrol_job("JobId=3 JobState=RUNNING TimeLimit=5 StartTime=soon", "3")


@pytest.mark.parametrize(
    "text, seconds",
    [
        ("5", 300),
        ("5:00", 300),
        ("0:30", 30),
        ("1:05:00", 3900),
        ("2-03", 2 * 86400 + 3 * 3600),
        ("2-03:10", 2 * 86400 + 3 * 3600 + 600),
        ("1-00:00:00", 86400),
        ("UNLIMITED", None),
        ("Partition_Limit", None),
        ("NONE", None),
    ],
)
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


def test_a_duration_that_is_not_one_is_one_line():
    with pytest.raises(BadResponseError, match="'five minutes' is not a duration"):
        parse_duration("five minutes")


def test_config_lines():
    config = parse_config("Configuration data as of 2026\nSlurmUser               = root(0)\nX=1")
    assert config["SlurmUser"] == "root(0)" and config["X"] == "1"
    assert "Configuration data as of 2026" not in config


def test_job_id_and_signal_discovery():
    assert job_id_from({"SLURM_JOB_ID": "42"}) == ("42", "SLURM_JOB_ID")
    assert job_id_from({"SLURM_JOBID": "42"}) == ("42", "SLURM_JOBID")
    assert job_id_from({"SLURM_JOB_ID": "x; rm -rf /"}) is None
    assert job_id_from({}) is None
    script = "#!/bin/sh\n#SBATCH --time=5\n#SBATCH --signal=B:USR1@30\nsrun jupyter lab\n"
    assert signal_from_script(script) == "B:USR1@30"
    assert signal_from_script("#!/bin/sh\n# --signal=USR1 in a comment\n") is None
