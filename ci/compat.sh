#!/usr/bin/env bash
# The older stacks ModelArts users run (issue 9), from pyenv's interpreters:
#
#   py37  the kernel side's core suite on Python 3.7 with the images' kernel pins
#         (ci/constraints-py37-modelarts.txt: ipykernel 6.7.0, IPython 7.34.0,
#         jupyter-client 7.3.4, ipywidgets 7.8; its jupyter_server is 1.24)
#   lab3  JupyterLab 3.6 + the ipywidgets 7 front end on jupyter_server 1.24, Python 3.9
#         (ci/constraints-lab3.txt), jupyter_lease installed as a user would (the server
#         extension enabled by its config file); its browser tests run the kernel in py37.
#
# Usage: ci/compat.sh [py37|lab3|all|install|test-py37|test-lab3]   (default all; lab3 needs
# py37's venv and $VENV; `install` only builds the two venvs, as .ci/run does up front)
# $VENV (default .venv) is the test environment with Playwright: `make test` creates it.
# Venvs are kept (.venv-py37, .venv-lab3): a rerun only reinstalls jupyter_lease.
# --refreeze rewrites the two constraints files from fresh, unpinned resolutions (review!).
set -euo pipefail
# Every step below also ends in `|| return`: `set -e` does not apply inside a function called
# from an `&&` or `||` list, where a failing pytest would otherwise pass unnoticed.
cd "$(dirname "$0")/.."
export PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1

what=${1:-all}
VENV=${VENV:-.venv}
PY37_VENV=.venv-py37
LAB3_VENV=.venv-lab3
PY37_CONSTRAINTS=ci/constraints-py37-modelarts.txt
LAB3_CONSTRAINTS=ci/constraints-lab3.txt

pyenv_python() {
  ls -d "$(pyenv root 2>/dev/null || echo /root/.pyenv)"/versions/"$1".*/bin/python 2>/dev/null |
    sort -V | tail -n 1
}

make_venv() { # make_venv DIR PYTHON_VERSION PIP_SPEC
  local py
  py=$(pyenv_python "$2")
  if [ -z "$py" ]; then echo "Python $2 not found (pyenv install $2)" >&2; exit 1; fi
  [ -x "$1/bin/python" ] || nice -n 10 "$py" -m venv "$1" || return
  nice -n 10 "$1/bin/python" -m pip install -q "$3" || return
}

seconds() { echo $((SECONDS - $1)); }

py37_install() {
  make_venv "$PY37_VENV" 3.7 "pip==24.0" # the last pip for Python 3.7
  echo "--- py37: install (kernel pins from $PY37_CONSTRAINTS)"
  nice -n 10 "$PY37_VENV/bin/python" -m pip install -q -e ".[test]" -c "$PY37_CONSTRAINTS" || return
}

py37_test() {
  local start=$SECONDS
  echo "--- py37: core suite on $("$PY37_VENV/bin/python" --version)"
  # Left out here only: the keep-alive-while-busy tests start kernels through jupyter_server
  # 1.24's websocket and, on this stack, a kernel now and then never starts executing the code
  # sent to it (a different test each run). docs/compatibility.md says so; on jupyter_server 2.x they run.
  # The real-Slurm tests run once, in `make test` (the parsers, pure, run here too).
  # The real-JupyterHub tests need Python 3.8+ (jupyterhub is in the test extra from 3.8).
  "$PY37_VENV/bin/python" -m pytest -m "not browser and not slow and not slurm and not hub" \
    -p no:cacheprovider -q \
    -n 4 --dist loadfile --ignore=tests/test_busy_server.py \
    --ignore=tests/test_keepalive_leases.py || return
  echo "--- py37: $(seconds "$start") s"
}

lab3_install() {
  make_venv "$LAB3_VENV" 3.9 "pip>=24"
  echo "--- lab3: install (JupyterLab 3.6 stack from $LAB3_CONSTRAINTS)"
  # Not editable: the wheel installs the config file that enables the server extension (pip
  # always rebuilds a local directory, so a rerun tests the current code).
  nice -n 10 "$LAB3_VENV/bin/python" -m pip install -q jupyterlab jupyterlab_widgets . \
    -c "$LAB3_CONSTRAINTS" || return
  "$LAB3_VENV/bin/jupyter" server extension list 2>&1 | grep -q "jupyter_lease.*enabled" || {
    echo "lab3: the jupyter_lease server extension is not enabled" >&2
    return 1
  }
}

lab3_test() {
  local start=$SECONDS
  echo "--- lab3: browser tests (server $LAB3_VENV, kernel $PY37_VENV)"
  JUPYTER_LEASE_LAB3_PYTHON="$PWD/$LAB3_VENV/bin/python" \
    JUPYTER_LEASE_PY37_PYTHON="$PWD/$PY37_VENV/bin/python" \
    nice -n 10 "$VENV/bin/python" -m pytest tests/browser/test_lab3.py -p no:cacheprovider -q ||
    return
  echo "--- lab3: $(seconds "$start") s"
}

refreeze() {
  local py37 py39 tmp
  py37=$(pyenv_python 3.7) py39=$(pyenv_python 3.9) tmp=$(mktemp -d)
  "$py37" -m venv "$tmp/py37" && "$tmp/py37/bin/pip" install -q "pip==24.0"
  "$tmp/py37/bin/pip" install -q "ipykernel==6.7.0" "ipython==7.34.0" "jupyter-client==7.3.4" \
    "ipywidgets==7.8.*" -e ".[test]"
  "$py39" -m venv "$tmp/lab3"
  "$tmp/lab3/bin/pip" install -q "jupyterlab==3.6.*" "jupyter_server==1.24.0" \
    "jupyterlab_widgets==1.1.*" "widgetsnbextension==3.6.*" "notebook==6.5.*" \
    "jupyter_client<8" "anyio<4" .
  freeze() { "$1/bin/pip" freeze --exclude-editable | grep -iv "^jupyter.lease"; }
  { grep "^#" "$PY37_CONSTRAINTS"; freeze "$tmp/py37"; } >"$tmp/a" && mv "$tmp/a" "$PY37_CONSTRAINTS"
  { grep "^#" "$LAB3_CONSTRAINTS"; freeze "$tmp/lab3"; } >"$tmp/b" && mv "$tmp/b" "$LAB3_CONSTRAINTS"
  rm -rf "$tmp"
}

case "$what" in
  py37) py37_install; py37_test ;;
  lab3) lab3_install; lab3_test ;;
  all) py37_install; lab3_install; py37_test; lab3_test ;;
  install) py37_install; lab3_install ;; # CI builds these while the main suite runs
  test-py37) py37_test ;;
  test-lab3) lab3_test ;;
  --refreeze) refreeze ;;
  *)
    echo "usage: ci/compat.sh [py37|lab3|all|install|test-py37|test-lab3|--refreeze]" >&2
    exit 2
    ;;
esac
