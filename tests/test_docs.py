"""The README starts with the user and stays short; it and CONTRIBUTING.md open with the two
commands a newcomer types (the ones .ci/run and the Makefile run); no relative link in the
documentation points at a missing file or heading."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Iterator, List, Set, Tuple

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
CONTRIBUTING = ROOT / "CONTRIBUTING.md"
DOCS = [
    README,
    CONTRIBUTING,
    *sorted((ROOT / "docs").glob("**/*.md")),
    ROOT / "benchmarks" / "README.md",
]

# The two set-up commands on a fresh machine: the demo on the simulator, then the test suite.
COMMANDS = ["make demo", "make test"]
FIRST_SCREEN = 25  # lines: the two commands are seen without scrolling
README_MAX_LINES = 150

FENCE = re.compile(r"^```.*?^```[ \t]*$", re.S | re.M)
CODE_SPAN = re.compile(r"`[^`]*`")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def _fenced_commands(path: Path) -> List[Tuple[int, str]]:
    """Each command line of the file's fenced blocks, with its line number, comments cut off."""
    text = path.read_text(encoding="utf-8")
    commands = []
    for block in FENCE.finditer(text):
        first_line = text.count("\n", 0, block.start()) + 1
        for offset, line in enumerate(block.group(0).splitlines()[1:-1], start=1):
            command = line.split("#", 1)[0].strip()
            if command:
                commands.append((first_line + offset, command))
    return commands


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = CODE_SPAN.sub(lambda m: m.group(0).strip("`"), heading.strip()).lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> Set[str]:
    """The anchors of a markdown file's headings, duplicates numbered as GitHub does."""
    seen: Set[str] = set()
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    for match in re.finditer(r"^#{1,6} +(.+?) *#*$", text, re.M):
        base = anchor = slug(match.group(1))
        n = 0
        while anchor in seen:
            n += 1
            anchor = f"{base}-{n}"
        seen.add(anchor)
    return seen


def links(path: Path) -> Iterator[str]:
    """Every link and image target in a markdown file, outside code."""
    text = CODE_SPAN.sub("code", FENCE.sub("", path.read_text(encoding="utf-8")))
    for match in LINK.finditer(text):
        yield match.group(1)


def test_the_readme_is_short() -> None:
    lines = README.read_text(encoding="utf-8").count("\n")
    assert lines < README_MAX_LINES, f"README.md has {lines} lines; move detail into docs/"


@pytest.mark.parametrize("path", [README, CONTRIBUTING], ids=lambda p: p.name)
def test_the_first_commands_are_the_demo_then_the_tests(path: Path) -> None:
    first = _fenced_commands(path)[:2]
    assert [command for _, command in first] == COMMANDS, first
    assert first[-1][0] <= FIRST_SCREEN, f"{path.name}: `make test` is on line {first[-1][0]}"


def test_ci_and_the_makefile_run_those_commands() -> None:
    ci_run = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    test_command = COMMANDS[1]
    assert re.search(rf"^{test_command}\b", ci_run, re.M), f".ci/run does not run `{test_command}`"
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    for command in COMMANDS:
        target = command.split()[1]
        assert re.search(rf"^{target}:", makefile, re.M), f"the Makefile has no `{target}` target"


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(path: Path) -> None:
    broken = []
    for target in links(path):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto: …
            continue
        file_part, _, anchor = target.partition("#")
        dest = (path.parent / file_part).resolve() if file_part else path
        relative = Path(os.path.relpath(dest, ROOT)).as_posix()
        if not dest.exists():
            broken.append(f"{target}: no such file")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            broken.append(f"{target}: no heading #{anchor} in {relative}")
    assert not broken, f"{path.relative_to(ROOT)}: " + "; ".join(broken)


def test_the_slugs_are_githubs() -> None:
    assert slug('How it finds "this notebook"') == "how-it-finds-this-notebook"
    assert slug("Where the server's environment is read-only") == (
        "where-the-servers-environment-is-read-only"
    )
    assert slug("From a terminal: `jupyter lease`") == "from-a-terminal-jupyter-lease"
    assert slug("Cost, measured") == "cost-measured"
