"""The server's one log line when the front-end extension was installed without being built."""

from __future__ import annotations

import json
from pathlib import Path

from jupyter_lease.server.labext import NPM_NAME, find_labextension, missing_labextension_line

ROOT = Path(__file__).resolve().parent.parent


def test_npm_name_is_package_json_name():
    assert json.loads((ROOT / "package.json").read_text())["name"] == NPM_NAME


def test_found_only_where_it_was_built(tmp_path):
    only_install_json = tmp_path / "a"  # what an editable install without node leaves
    (only_install_json / NPM_NAME).mkdir(parents=True)
    (only_install_json / NPM_NAME / "install.json").write_text("{}")
    built = tmp_path / "b"
    (built / NPM_NAME).mkdir(parents=True)
    (built / NPM_NAME / "package.json").write_text("{}")
    paths = [str(only_install_json), str(built)]
    assert find_labextension(paths) == built / NPM_NAME
    assert missing_labextension_line(paths) is None


def test_missing_is_one_line_saying_what_to_do(tmp_path):
    line = missing_labextension_line([str(tmp_path)])
    assert line is not None and "\n" not in line
    assert "npm ci && npm run build" in line and "pip install -e ." in line
