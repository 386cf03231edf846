"""Which provider: an explicit setting wins; auto picks ModelArts when its discovery finds a
notebook, else Slurm inside a job, else ModelArts' one-line "not found"; bad names are one line."""

from __future__ import annotations

import os
from typing import Dict

import pytest

from jupyter_lease._errors import ConfigurationError
from jupyter_lease.cli.main import main
from jupyter_lease.modelarts.cached import CachedLeaseSource
from jupyter_lease.watch.cache import CachedSource
from jupyter_lease.watch.providers import choose
from jupyter_lease.watch.sources import build_source


@pytest.fixture
def bare(tmp_path) -> Dict[str, str]:
    """An environment where ModelArts finds nothing: no variables, an empty runtime dir."""
    return {"JUPYTER_RUNTIME_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}


def test_auto_inside_a_slurm_job_without_modelarts_is_slurm(bare, tmp_path):
    env = dict(bare, SLURM_JOB_ID="42")
    choice = choose(environ=env)
    assert choice.provider == "slurm" and "SLURM_JOB_ID=42" in choice.why
    source = build_source(environ=dict(env, JUPYTER_LEASE_CACHE_DIR=str(tmp_path / "c")))
    assert isinstance(source, CachedSource) and source.key.endswith(":42")


def test_auto_prefers_a_modelarts_notebook_it_finds(bare, sim_env):
    env = dict(bare, SLURM_JOB_ID="42", **sim_env)
    choice = choose(environ=env)
    assert choice.provider == "modelarts" and "found the notebook" in choice.why
    assert isinstance(build_source(environ=env), CachedLeaseSource)


def test_auto_with_neither_says_what_modelarts_misses(bare):
    choice = choose(environ=bare)
    assert choice.provider == "modelarts" and "SLURM_JOB_ID is not set" in choice.why
    assert "not in a JupyterHub server" in choice.why
    with pytest.raises(ConfigurationError, match="notebook id .*not found"):
        build_source(environ=bare)


def test_an_explicit_provider_wins_over_discovery(bare, sim_env):
    env = dict(bare, SLURM_JOB_ID="42", JUPYTER_LEASE_PROVIDER="slurm", **sim_env)
    assert choose(environ=env).provider == "slurm"
    assert choose("modelarts", environ=env).why == "set by the provider setting"
    assert choose("SLURM", environ=dict(bare)).provider == "slurm"
    with pytest.raises(ConfigurationError, match="not inside a Slurm job"):
        build_source(provider="slurm", environ=bare)


@pytest.mark.parametrize("where", ["argument", "env"])
def test_a_bad_provider_name_is_one_line(bare, where):
    env = dict(bare, JUPYTER_LEASE_PROVIDER="pbs\nx") if where == "env" else bare
    with pytest.raises(ConfigurationError) as caught:
        choose("pbs\nx" if where == "argument" else None, environ=env)
    origin = "JUPYTER_LEASE_PROVIDER" if where == "env" else "the provider setting"
    assert str(caught.value) == (
        f"unknown provider 'pbs x' (from {origin}): use modelarts, jupyterhub, slurm or auto"
    )


def test_the_cli_refuses_a_bad_provider_in_one_line(capsys):
    assert main(["status", "--provider", "pbs"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown provider 'pbs'" in err


@pytest.mark.kernel
def test_the_magic_provider_trait_reaches_the_runtime(bare, sim_env, tmp_path):
    from tests.support.kernel_helpers import KernelSession

    env = {**os.environ, **sim_env, "SLURM_JOB_ID": "7", "JUPYTER_RUNTIME_DIR": str(tmp_path)}
    with KernelSession(env=env) as kernel:
        kernel.execute("%load_ext jupyter_lease")
        probe = "from jupyter_lease.watch.runtime import get_runtime\n" + (
            "print(type(get_runtime().source()).__name__, get_runtime().settings.provider)"
        )
        assert kernel.execute(probe).stdout.split() == ["CachedLeaseSource", "None"]
        kernel.execute('%config JupyterLease.provider = "slurm"')
        assert kernel.execute(probe).stdout.split() == ["CachedSource", "slurm"]
        refused = kernel.execute('%config JupyterLease.provider = "pbs"')
        assert "unknown provider 'pbs'" in refused.stderr and "keeping 'slurm'" in refused.stderr
        assert refused.errors == [] and len(refused.stderr.strip().splitlines()) == 1
