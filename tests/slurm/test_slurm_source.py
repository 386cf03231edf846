"""SlurmSource against a real slurmctld: a job reading its own walltime, the three readers
agreeing, extending as root and refused as an ordinary user, no limit, a finished job."""

from __future__ import annotations

import json
import sys
import time

import pytest

from jupyter_lease._errors import DurationError, ExtendRefusedError
from jupyter_lease.core import present
from jupyter_lease.slurm import SlurmCommands, SlurmSource, discover
from jupyter_lease.slurm.parse import (
    SQUEUE_FORMAT,
    parse_scontrol_job,
    parse_squeue_json,
    parse_squeue_text,
)
from tests.support.slurm import run_python, wait_for_file
from tests.support.slurm_cluster import SlurmCluster

pytestmark = pytest.mark.slurm

READ_ITSELF = """
import json, sys, time
from jupyter_lease.core import present
from jupyter_lease.slurm import SlurmSource, discover
reading = SlurmSource.from_environ().read()
facts = [fact.__dict__ for fact in discover()]
shown = present(reading, time.time())
out = {"reading": reading.to_json(), "headline": shown.headline, "facts": facts}
print(json.dumps(out), flush=True)
"""


def _source(cluster: SlurmCluster, job_id: int, **options) -> SlurmSource:
    return SlurmSource(str(job_id), commands=SlurmCommands(cluster.env), **options)


@pytest.mark.timeout(120)
def test_a_batch_job_reads_its_own_walltime(cluster: SlurmCluster, tmp_path):
    out = cluster.out / f"reading-{time.monotonic_ns()}.json"
    script = f"#SBATCH --signal=B:USR1@30\n{sys.executable} -c '{READ_ITSELF}' > {out}\nsleep 300"
    job = cluster.sbatch(script, time_min=5)
    seen = json.loads(wait_for_file(out))
    reading = seen["reading"]
    assert reading["kind"] == "timed" and not reading["stale"] and reading["error"] is None
    assert reading["deadline_ms"] == cluster.end_time(job) * 1000
    left = reading["deadline_ms"] / 1000 - reading["read_at_ms"] / 1000
    assert 280 <= left <= 300  # --time=5: ~5 min left, read moments after the start
    assert reading["deadline_ms"] - reading["started_at_ms"] == 300_000
    assert reading["source"] == f"Slurm job {job}"
    assert reading["source_id"] == f"slurm:{cluster.name}:{job}"
    assert reading["can_extend"] is True and reading["clock_offset_ms"] == 0  # root
    assert seen["headline"] in {f"4:{s:02d} left" for s in range(40, 60)} | {"5:00 left"}
    facts = {fact["what"]: fact for fact in seen["facts"]}
    assert facts["Slurm job"]["value"] == str(job) and facts["Slurm job"]["how"] == "SLURM_JOB_ID"
    assert facts["Slurm configuration"]["value"] == str(cluster.conf)
    assert facts["Slurm version"]["value"].startswith(("22.", "23.", "24.", "25."))
    assert facts["squeue"]["value"].endswith("/squeue")
    assert facts["--signal"]["value"] == "B:USR1@30"


def test_the_three_readers_agree_on_a_real_job(cluster: SlurmCluster):
    job = cluster.sbatch("sleep 300", time_min=7)
    cluster.wait_state(job, ["RUNNING"])
    commands = SlurmCommands(cluster.env)
    from_json = parse_squeue_json(commands.run("squeue", "--json"), str(job))
    text = commands.run("squeue", "-h", "-j", str(job), "-o", SQUEUE_FORMAT)
    from_text = parse_squeue_text(text, str(job))
    from_scontrol = parse_scontrol_job(
        commands.run("scontrol", "show", "job", "-o", str(job)), str(job)
    )
    for times in (from_json, from_text, from_scontrol):
        assert (times.state, times.limit_s, times.end) == ("RUNNING", 420, cluster.end_time(job))
        assert times.end - times.start == 420


def test_extend_as_root_moves_endtime_by_the_amount(cluster: SlurmCluster):
    job = cluster.sbatch("sleep 300", time_min=5)
    cluster.wait_state(job, ["RUNNING"])
    source = _source(cluster, job)
    before = source.read()
    assert before.can_extend and before.deadline == cluster.end_time(job)
    after = source.extend(600)
    assert after.deadline == before.deadline + 600 == cluster.end_time(job)
    assert source.extend(90).deadline == before.deadline + 600 + 120  # whole minutes, up
    with pytest.raises(DurationError, match="1 min to 7 days"):
        source.extend(30)
    assert cluster.end_time(job) == before.deadline + 720


def test_an_ordinary_user_cannot_extend_and_is_told_why_once(cluster: SlurmCluster, user: str):
    job = cluster.sbatch("sleep 300", time_min=5, user=user)
    cluster.wait_state(job, ["RUNNING"])
    end = cluster.end_time(job)
    code = f"""
import json
from jupyter_lease.slurm import SlurmSource
out = {{}}
for detect in (None, True):  # True: as if detection were wrong, so scontrol is asked
    source = SlurmSource("{job}", can_extend=detect)
    reading = source.read()
    try:
        source.extend(600)
        error = None
    except Exception as exc:
        error = [type(exc).__name__, str(exc)]
    out[str(detect)] = [reading.can_extend, reading.kind, error, source.can_extend]
print(json.dumps(out))
"""
    seen = run_python(cluster, code, user=user)
    help_line = f"ask the cluster's administrators to raise the time limit of job {job}"
    detected, forced = seen["None"], seen["True"]
    assert detected[:2] == [False, "timed"]  # no Extend offered
    assert detected[2][0] == "ExtendNotAllowedError" and help_line in detected[2][1]
    # Slurm itself refused ("Access/permission denied"): the same one line, and no more tries.
    assert forced[:2] == [True, "timed"] and forced[2] == detected[2] and forced[3] is False
    assert cluster.end_time(job) == end
    log = (cluster.root / "log" / "slurmctld.log").read_text()
    assert log.count(f"Attempt to increase time limit for JobId={job}\n") == 1
    site = "write to hpc@example.org about job {job_id}"  # the site's words
    env = dict(cluster.env, JUPYTER_LEASE_SLURM_EXTEND_HELP=site)
    code = f"""
import json
from jupyter_lease.slurm import SlurmSource
try:
    SlurmSource("{job}").extend(600)
except Exception as exc:
    print(json.dumps(str(exc)))
"""
    assert run_python(cluster, code, user=user, env=env) == site.format(job_id=job)


def test_a_job_without_time_limit_is_off_and_never_extended(cluster: SlurmCluster):
    job = cluster.sbatch("sleep 300", time_min=None, extra=["--time=UNLIMITED"])
    cluster.wait_state(job, ["RUNNING"])
    source = _source(cluster, job)
    reading = source.read()
    assert (reading.kind, reading.deadline, reading.stale) == ("off", None, False)
    assert reading.off_label == "no time limit" and not reading.can_extend
    shown = present(reading, time.time())
    assert (shown.stage, shown.headline) == ("off", "no time limit")
    with pytest.raises(ExtendRefusedError, match="no time limit"):
        source.extend(600, force=True)
    assert cluster.job(job)["TimeLimit"] == "UNLIMITED"  # +N would have wrapped around


def test_a_finished_or_unknown_job_is_stopped(cluster: SlurmCluster):
    job = cluster.sbatch("sleep 300", time_min=5)
    cluster.wait_state(job, ["RUNNING"])
    source = _source(cluster, job)
    assert source.read().kind == "timed"
    cluster.run("scancel", str(job))
    cluster.wait_state(job, ["CANCELLED"])
    stopped = source.read()
    assert (stopped.kind, stopped.stale, stopped.can_extend) == ("stopped", False, False)
    with pytest.raises(ExtendRefusedError, match="not running"):
        source.extend(600)
    never = _source(cluster, 999_999).read()
    assert (never.kind, never.stale, never.error) == ("stopped", False, None)


def test_doctor_facts_outside_a_job(cluster: SlurmCluster):
    facts = {fact.what: fact for fact in discover(cluster.env)}
    assert facts["Slurm job"].value == "none" and "--signal" not in facts
    assert facts["scontrol"].value.endswith("/scontrol")


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_a_job_is_really_killed_at_its_walltime(cluster: SlurmCluster):
    """What the warnings count down to. (That a watcher warned before it: phase B.)"""
    job = cluster.sbatch("sleep 600", time_min=1)
    cluster.wait_state(job, ["RUNNING"])
    # A limit is whole minutes (`--time=0:20` is rounded up to 1:00); root moves this job's
    # EndTime 5 s ahead instead (TimeLimit stays 1:00): the walltime Slurm enforces is EndTime.
    cluster.run("scontrol", "update", f"JobId={job}", "EndTime=now+5")
    source = _source(cluster, job)
    deadline = source.read().deadline
    assert deadline == cluster.end_time(job) and deadline - time.time() <= 6
    # Slurm checks limits every 30 s: it ends the job up to ~30 s after EndTime (KillWait=5).
    state = cluster.wait_state(job, ["TIMEOUT"], timeout=deadline - time.time() + 60)
    ended = cluster.end_time(job)  # now when it really ended
    assert state == "TIMEOUT" and deadline <= ended <= deadline + 45
    assert source.read().kind == "stopped"
