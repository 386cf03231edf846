"""``jupyter lease status|extend|doctor --check`` for a provider other than ModelArts: its
:class:`~jupyter_lease.core.Reading` is all there is (Slurm: the job's walltime).

Same promises as for ModelArts: a reading that could not be made is one line and exit 1; a
user who may not extend gets the site's one line and exit 2, with nothing sent
(``ExtendNotAllowedError``); nothing is retried in a loop.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any, Dict, Optional, TextIO

from .._errors import APIError, LeaseError, scrub
from ..core.reading import Reading
from ..core.reading_status import ReadingStatus
from ..i18n import _

__all__ = ["check", "extend", "status"]


def _explicit(args: argparse.Namespace) -> Dict[str, Optional[str]]:
    names = ("notebook_id", "project_id", "region", "endpoint")
    return {name: getattr(args, name, None) for name in names}


def _status(reading: Reading, args: argparse.Namespace) -> ReadingStatus:
    if reading.stale:  # as for ModelArts: no answer now is a failure, whatever was known
        raise APIError(reading.error or "the lease could not be read")
    from ..watch.providers import choose

    choice = choose(getattr(args, "provider", None), _explicit(args))
    return ReadingStatus(reading, time.time(), choice.provider, choice.why)


def _print(status: ReadingStatus, as_json: bool, out: TextIO) -> None:
    if as_json:
        print(json.dumps(status.to_dict(), indent=2), file=out)
    else:
        print(status.to_text(), file=out)


def status(client: Any, args: argparse.Namespace, out: TextIO) -> int:
    with client.fresh():  # asked explicitly: the truth now, not the last poll's answer
        reading = client.read()
    _print(_status(reading, args), args.json, out)
    return 0


def extend(client: Any, args: argparse.Namespace, out: TextIO) -> int:
    from ..core.duration import parse_duration

    seconds = parse_duration(args.duration).total_seconds()
    reading = client.extend(seconds, force=args.force)
    shown = _status(reading, args)
    if not args.json:
        print(_("Extended: {headline}.").format(headline=shown.headline()), file=out)
    _print(shown, args.json, out)
    return 0


def check(args: argparse.Namespace) -> str:
    """``doctor --check``: one read of the walltime, as one line."""
    from ..watch.sources import build_source

    try:
        with build_source(_explicit(args), provider=args.provider) as client:
            with client.fresh():
                reading = client.read()
            return f"read OK: {_status(reading, args).headline()}"
    except LeaseError as exc:
        return f"read failed: {scrub(str(exc))}"
