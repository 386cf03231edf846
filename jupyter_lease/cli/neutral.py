"""``jupyter lease status|extend|doctor --check`` for any provider, through the LeaseSource
contract alone: the source reads (or extends), and lays its reading out itself (``status``:
ModelArts with its raw lease and where each setting came from, Slurm and JupyterHub from the
reading).

Same promises everywhere: a reading that could not be made is one line and exit 1 (the very error
the provider answered); a user who may not extend gets the site's one line and exit 2, with
nothing sent (``ExtendNotAllowedError``); an extension that would shorten the lease is refused
(exit 2); nothing is retried in a loop.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any, Callable, Dict, Optional, TextIO

from .._errors import LeaseError, scrub
from ..core.reading import Reading, failure
from ..i18n import _

__all__ = ["check", "extend", "status"]

KeepAlive = Callable[[Any], Optional[Dict]]


def _explicit(args: argparse.Namespace) -> Dict[str, Optional[str]]:
    names = ("notebook_id", "project_id", "region", "endpoint")
    return {name: getattr(args, name, None) for name in names}


def _status(client: Any, reading: Reading, args: argparse.Namespace) -> Any:
    if reading.stale or (reading.kind == "stopped" and reading.error):
        raise failure(reading)  # no answer now (or "not running") is a failure: exit 1
    from ..watch.providers import choose

    choice = choose(getattr(args, "provider", None), _explicit(args))
    return client.status(reading, time.time(), why=choice.why)


def _print(shown: Any, args: argparse.Namespace, out: TextIO, summary: Optional[Dict]) -> None:
    if args.json:
        data = shown.to_dict()
        data["keep_alive"] = summary
        print(json.dumps(data, indent=2), file=out)
        return
    print(shown.to_text(), file=out)
    if summary is not None:  # on this machine's clock and in its zone, as the rest
        from ..server.busy_policy import policy_line

        print(f"Keep alive while busy: {policy_line(summary)}", file=out)


def status(client: Any, args: argparse.Namespace, out: TextIO, keep_alive: KeepAlive) -> int:
    with client.fresh():  # asked explicitly: the truth now, not the last poll's answer
        reading = client.read()
    _print(_status(client, reading, args), args, out, keep_alive(client))
    return 0


def extend(client: Any, args: argparse.Namespace, out: TextIO) -> int:
    from ..core.duration import parse_duration

    seconds = parse_duration(args.duration).total_seconds()
    reading = client.extend(seconds, force=args.force)  # a mistake raises: exit 2
    shown = _status(client, reading, args)
    if not args.json:
        print(_("Extended: {headline}.").format(headline=shown.headline()), file=out)
        print(shown.to_text(), file=out)
    else:
        print(json.dumps(shown.to_dict(), indent=2), file=out)
    return 0


def check(args: argparse.Namespace) -> str:
    """``doctor --check``: one read, as one line (ModelArts calls it ShowLease)."""
    from ..watch.providers import choose
    from ..watch.sources import build_source

    what = "ShowLease" if choose(args.provider, _explicit(args)).provider == "modelarts" else "read"
    try:
        with build_source(_explicit(args), provider=args.provider) as client:
            with client.fresh():
                reading = client.read()
            return f"{what} OK: {_status(client, reading, args).headline()}"
    except LeaseError as exc:
        return f"{what} failed: {scrub(str(exc))}"
