# ruff: noqa: E501 -- a table of sentences, one row per fault, as it reads in docs/reliability.md
"""The faults proven outside the generated matrix: by named tests with a whole Jupyter server (or
two), real kernels or a real Slurm. tests/support/fault_matrix.py appends them to
docs/reliability.md; tests/test_faults.py checks that every named test exists."""

from __future__ import annotations

__all__ = ["ELSEWHERE", "ELSEWHERE_HEADING", "elsewhere_section"]

# Faults that need a whole Jupyter server (or two) and real kernels: each is proven by the named
# test, which tests/test_faults.py checks exists; the rows say what that test asserts.
ELSEWHERE = [
    ("ModelArts stalled for 4 s, 8 concurrent lease GETs",
     "the GETs share one ShowLease; `/api/kernelspecs` and `/api/status` answer in ms",
     "by itself; at most 2 threads are ever held",
     "tests/test_server.py::test_a_stalled_modelarts_leaves_the_rest_of_jupyter_answering"),
    ("8 concurrent GETs while ModelArts throttles",
     "one upstream read; every GET gets the 502 line; one WARNING in the log",
     "the next GET asks upstream again",
     "tests/test_server.py::test_a_shared_read_that_fails_is_one_log_line_and_the_next_get_retries"),
    ("keep alive while busy: a kernel runs `time.sleep` across 3 would-be stops",
     "\"renewed automatically at HH:MM — t.ipynb was running\" ×3; never past the cap",
     "exactly 3 RenewLease calls, then the lease runs out at the cap",
     "tests/test_busy_server.py::test_a_busy_kernel_is_kept_alive_once_per_step_and_never_past_the_cap"),
    ("keep alive while busy: nothing runs",
     "\"nothing is running: the lease counts down as usual\"",
     "0 RenewLease; the normal warnings, then the stop",
     "tests/test_busy_server.py::test_an_idle_server_lets_the_lease_run_out"),
    ("keep alive while busy: an IDLE lease",
     "\"an IDLE lease stops only when idle: never renewed\"",
     "0 RenewLease",
     "tests/test_busy_server.py::test_an_idle_lease_is_never_renewed"),
    ("keep alive while busy: a 401",
     "the policy turns off with one line (\"ModelArts refused the credentials …; not retried\")",
     "exactly one 401 request; turn it on again after fixing the credentials",
     "tests/test_busy_server.py::test_a_401_turns_the_policy_off_after_one_attempt"),
    ("keep alive while busy: 5 busy kernels on 2 servers",
     "one renewal record per step",
     "1 RenewLease per step",
     "tests/test_busy_server.py::test_five_busy_kernels_on_two_servers_renew_once_per_step"),
    ("keep alive while busy: the server restarts",
     "the policy and its cap are kept",
     "not reset to a new cap from the restart",
     "tests/test_busy_server.py::test_a_restart_keeps_the_policy_and_its_cap"),
    ("keep alive while busy: two servers for two notebooks share one runtime dir",
     "on for A is off for B; B's renewal is never counted (\"renewed moments ago\") nor announced for A",
     "each lease renews on its own stop, once",
     "tests/test_keepalive_leases.py::test_two_notebooks_sharing_a_runtime_dir_share_nothing"),
    ("keep alive while busy: `keep_alive()` in a kernel of a lease no running server serves",
     "nothing registers with the unrelated servers; `note`: \"renewing on its own: no running Jupyter server serves …\"",
     "the block renews its own lease",
     "tests/test_keepalive_leases.py::test_a_kernel_of_another_lease_renews_on_its_own"),
    ("keep alive while busy: `jupyter lease keep-alive off` with no server running",
     "\"off (no running Jupyter server serves …; saved)\", exit 0",
     "the next server finds it off",
     "tests/test_keepalive_leases.py::test_keep_alive_off_works_with_no_server_running"),
    ("keep alive while busy: the instance stops, then starts again",
     "the old record (on, cap, renewals) is forgotten, never replayed",
     "the new run starts off (or from `renew_while_busy`)",
     "tests/test_keepalive_leases.py::test_a_lease_that_ends_forgets_its_record"),
    ("keep alive while busy: the clock offset is measured again after a renewal",
     "the renewal keeps its id: the page announces it once",
     "by itself",
     "tests/test_keepalive_leases.py::test_renewal_ids_are_stable_when_the_clock_offset_moves"),
    ("keep alive while busy: the server on UTC, the person in UTC+8, `--until HH:MM`",
     "the cap is the person's HH:MM, said with their zone (\"until 21:30 UTC+08:00\"); text sent to the API is refused (400)",
     "not needed (the panel sends an instant too: tests/browser/test_status_panel.py)",
     "tests/test_keepalive_leases.py::test_until_is_read_in_the_persons_time_zone"),
    ("keep alive while busy: a cap of a year, or in 2199",
     "one line, HTTP 400: \"at most 1d from now (this server's c.JupyterLease.renew_max_cap)\"",
     "the policy stays as it was",
     "tests/test_keepalive_leases.py::test_the_cap_is_bounded_by_the_servers_setting"),
    ("keep alive while busy: switched off while `keep_alive()` work is registered",
     "the work is let go (its heartbeat gets 409) and nothing renews",
     "turn it on again",
     "tests/test_keepalive_leases.py::test_declared_work_counts_only_while_on_and_switching_off_clears_it"),
    ("keep alive while busy: a restart after the cap has passed, `renew_while_busy` configured",
     "\"the cap (HH:MM) has passed: no more automatic renewals\"",
     "never re-armed: turn it on by hand",
     "tests/test_keepalive_leases.py::test_a_restart_after_the_cap_passed_never_rearms_it"),
    ("keep alive while busy: `keep_alive(margin=\"20m\", extend_by=\"2h\")` registered with the server",
     "renewed at 20 min left, by 2 h; a `max_total` beyond the server's limit: `note` says why in one line, and the block renews on its own",
     "not needed",
     "tests/test_keepalive_leases.py::test_keep_alive_margin_and_step_travel_with_the_registration"),
    ("keep alive while busy: a read right after a renewal does not show it",
     "\"renewed moments ago: waiting\"; no second RenewLease",
     "the next step",
     "tests/test_keepalive_leases.py::test_renewed_moments_ago_holds_through_the_real_server"),
    ("keep alive while busy: the work map changed on the event loop while a pool thread reads it",
     "nothing (a lock; readers get copies)",
     "not needed",
     "tests/test_busy_work.py::test_the_work_map_survives_concurrent_changes_and_reads"),
    ("Slurm: `squeue` and `scontrol` missing, failing or printing garbage",
     "the last known walltime, stale, with one line (\"squeue is not installed here …\")",
     "the next poll after the commands answer again",
     "tests/slurm/test_slurm_faults.py::test_none_answering_is_stale_one_line_then_recovers"),
    ("Slurm: `squeue` slower than its 10 s timeout",
     "stale, \"did not answer within 10 s\"; the command and its children are killed",
     "the next poll; the text form is not tried after a timeout (one wait per poll)",
     "tests/slurm/test_slurm_faults.py::test_a_slow_command_is_killed_with_its_children"),
    ("Slurm: `squeue --json` broken, the text form works",
     "nothing: the same deadline from `squeue -o` or `scontrol show job`",
     "by itself",
     "tests/slurm/test_slurm_faults.py::test_a_broken_squeue_falls_back"),
    ("Slurm: `squeue` failing while 6 readers wait",
     "one `squeue` call; every reader gets the last deadline, stale",
     "the next reader after the interval asks again",
     "tests/slurm/test_slurm_shared.py::test_a_failing_squeue_is_shared_stale_then_recovers"),
    ("Slurm: an ordinary user extends (Access/permission denied)",
     "no Extend button; `jupyter lease extend` says the site's line, exit 2 (HTTP 403)",
     "nothing is sent to Slurm, never retried; ask the site",
     "tests/slurm/test_slurm_views.py::test_an_ordinary_user_is_refused_in_one_line_with_nothing_sent"),
    ("Slurm: a job without a time limit",
     "\"no time limit\"; never a fake deadline, never extended (`+N` would wrap around)",
     "by itself",
     "tests/slurm/test_slurm_source.py::test_a_job_without_time_limit_is_off_and_never_extended"),
    # Issue 18: each case below failed before its fix.
    ("Slurm: an array task (`%i` prints `1234_7`, `SLURM_JOB_ID` another number), `squeue "
     "--json` failing",
     "the task's own walltime, from `squeue -o '%A …'` or `scontrol show job`; never \"stopped\"",
     "by itself",
     "tests/slurm/test_slurm_array.py::test_an_array_task_reads_its_own_walltime_when_squeue_json_fails"),
    ("Slurm: a heterogeneous job's component (`1234+0`), `squeue --json` failing",
     "\"has not started yet\" while it waits, then its walltime; never \"stopped\"",
     "by itself",
     "tests/slurm/test_slurm_array.py::test_a_heterogeneous_component_is_never_read_as_stopped"),
    ("Slurm: `squeue --json` prints `Infinity`, `NaN`, `1e400` or `1e300` for a time",
     "nothing: the next command's deadline",
     "by itself",
     "tests/slurm/test_slurm_array.py::test_a_number_no_job_has_falls_back_to_the_next_command"),
    ("Slurm: the same, with no other command answering",
     "one line (\"squeue --json gave end_time = inf, not a number Slurm uses\"), exit 1; "
     "never an OverflowError (\"a bug in jupyter_lease\")",
     "the next read",
     "tests/slurm/test_slurm_array.py::test_a_number_no_job_has_is_one_line_from_the_cli"),
    ("Slurm: the server extension in an array task, `squeue --json` failing",
     "the page gets the task's walltime and the server's `c.JupyterLease` settings; "
     "`…/api/doctor` reports Slurm, not a missing notebook id",
     "by itself",
     "tests/slurm/test_slurm_server_array.py::test_a_server_in_an_array_task_serves_its_walltime_settings_and_doctor"),
    ("a lease cache directory its group can write to (a member could plant a FIFO at the lock)",
     "nothing: the lease is read uncached; one server log line (\"… is writable by its group: "
     "chmod g-w …\"); nothing written or believed there",
     "after `chmod g-w` on the directory",
     "tests/test_cache_dir_group.py::test_a_group_writable_cache_dir_is_refused_in_one_line"),
    ("`jupyter lease watch` into a pipe, ModelArts unreachable",
     "one line on stderr (\"ShowLease: connection refused by …\"), exit 1; not \"checking the "
     "lease…\" and exit 0",
     "run it again",
     "tests/test_cli_checks.py::test_watch_into_a_pipe_with_the_simulator_down_exits_1_with_the_error"),
    ("`jupyter lease doctor --check`, not ready",
     "the report, then one line on stderr, exit 1",
     "—",
     "tests/test_cli_checks.py::test_doctor_check_exits_1_when_not_ready_and_0_when_ready"),
    ("doctor in a Slurm job without Slurm's commands",
     "long cells cut between words (\" …\"), never inside one; `SLURM_JOB_ID=1234567` shown, "
     "not masked as `***`",
     "—",
     "tests/test_cli_checks.py::test_doctor_in_a_slurm_job_shows_the_job_id_and_cuts_only_between_words"),
    ("`jupyter lease demo` sent SIGTERM",
     "JupyterLab and its kernel stop (none left in the process table); the temporary folder "
     "is removed; JupyterLab was on a free port, as `--port`'s help says",
     "—",
     "tests/test_demo_stop.py::test_sigterm_stops_jupyterlab_and_its_kernel_and_removes_the_folder"),
    ("`jupyter lease demo --execute` on a user's machine (a real instance)",
     "nothing written into the user's HOME or Jupyter runtime dir: its runtime, IPython and "
     "lease-cache dirs are its own, removed with its folder",
     "—",
     "tests/test_demo_stop.py::test_a_headless_demo_writes_nothing_into_the_users_dirs"),
]  # fmt: skip


ELSEWHERE_HEADING = "\n## With a Jupyter server, real kernels and a real Slurm\n\n"


def elsewhere_section() -> str:
    rows = "".join(
        f"| {fault} | {seen} | {how} | `{test}` |\n" for fault, seen, how, test in ELSEWHERE
    )
    return (
        ELSEWHERE_HEADING
        + "Proven by the named tests (run by `make test`), not by this generator.\n\n"
        + "| fault | what the user sees | recovery | proven by |\n|---|---|---|---|\n"
        + rows
    )
