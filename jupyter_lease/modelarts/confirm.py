"""Confirm which notebook instance this is, once per process, before the first lease call.

Discovery (no I/O beyond local files) gives a candidate id: one a person set (argument,
``%config``, ``JUPYTER_LEASE_NOTEBOOK_ID``), or a guess from the server's ``base_url`` or the
``notebook-<uuid>`` host name.  Here, on the first request of a :class:`LeaseClient`:

- a set id is checked by that first request itself, never replaced: its not-found names
  where the id came from;
- a guess is checked with ShowNotebook; if it does not exist, or there is no candidate,
  ListNotebooks is searched for the one instance whose ``url`` (``…/<id>/lab``) has a path
  segment equal to a UUID in the ``base_url``; several matches are refused, never picked from;
- a network failure leaves the candidate in use, unconfirmed, with the reason.

The answer is remembered per process (doctor shows it); after a network failure, the next
client asks again.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Tuple
from urllib.parse import quote, urlsplit

from .._errors import ConfigurationError, LeaseError, NotFoundError
from .env import ENV_NOTEBOOK_ID, UUID, uuids_in

if TYPE_CHECKING:
    from .client import LeaseClient

__all__ = ["Confirmation", "confirm", "confirmed_call", "remembered"]

PAGE = 100  # ListNotebooks instances per page
MAX_PAGES = 20  # 2000 instances: a project with more is not searched to the end


@dataclass(frozen=True)
class Confirmation:
    """Which id is used, how it was found, and whether ModelArts confirmed it."""

    notebook_id: str
    how: str  # "from base_url of jpserver-1.json", "found by ListNotebooks matching base_url /x/"
    confirmed: bool
    detail: str  # "confirmed by ShowNotebook", "not confirmed: …"

    def line(self) -> str:
        return f"notebook id: {self.notebook_id} {self.how} — {self.detail}"


_LOCK = threading.Lock()
_MEMO: Dict[Tuple[str, ...], Any] = {}  # key -> Confirmation or the error to raise again


def _key(client: LeaseClient) -> Tuple[str, ...]:
    loc = client.location
    found = loc.notebook_id
    return (client.endpoint, client.project_id, found.value or "", found.source, loc.base_url)


def remembered(location: Any) -> Optional[Confirmation]:
    """What this process confirmed for a location like ``location`` (any endpoint), if anything."""
    found = location.notebook_id
    with _LOCK:
        for key, value in _MEMO.items():
            same = key[2:] == (found.value or "", found.source, location.base_url)
            if same and key[1] == location.project_id.value and isinstance(value, Confirmation):
                return value
    return None


def confirmed_call(
    client: LeaseClient, call: Callable[[str], Any], what: str
) -> Tuple[Any, Confirmation]:
    """``call(notebook_id)`` (a request on the notebook) for the id confirmed first, and that
    confirmation: the client takes it (and the id, when another was confirmed); nothing here
    writes the client's fields.

    A set id is checked by ``call`` itself (no extra request): its not-found names the source.
    """
    found = client.location.notebook_id
    if found.ok and not found.unconfirmed:
        try:
            result = call(str(found.value))
        except NotFoundError as exc:
            raise _remember(_key(client), _explicit_not_found(found, exc, what)) from None
        done = Confirmation(str(found.value), f"from {found.source}", True, f"confirmed by {what}")
        return result, _remember(_key(client), done)
    done = confirm(client)
    return call(done.notebook_id), done


def _remember(key: Tuple[str, ...], known: Any) -> Any:
    with _LOCK:
        _MEMO[key] = known
    return known


def _explicit_not_found(found: Any, exc: NotFoundError, what: str) -> NotFoundError:
    return NotFoundError(
        f"{what}: notebook id {found.value} from {found.source} not found "
        f"({exc.code or exc.status}) — check it, {ENV_NOTEBOOK_ID} and the project id",
        **_fields(exc),
    )


def confirm(client: LeaseClient) -> Confirmation:
    """The confirmed (or, after a network failure, unconfirmed) guess, or a one-line error."""
    key = _key(client)
    with _LOCK:
        known = _MEMO.get(key)
    if known is None or (isinstance(known, Confirmation) and not known.confirmed):
        try:
            known = _decide(client)
        except (ConfigurationError, NotFoundError) as exc:
            known = exc
        except _Transient as exc:
            known = exc.confirmation  # shown by doctor, tried again by the next client
        _remember(key, known)
    if isinstance(known, LeaseError):
        raise type(known)(known.args[0], **_fields(known))  # a fresh one: no shared traceback
    return known


def _fields(error: LeaseError) -> Dict[str, Any]:
    keep = ("status", "code", "request_id")
    return {k: getattr(error, k) for k in keep} if isinstance(error, NotFoundError) else {}


class _Transient(Exception):
    """A network failure: use this (unconfirmed) answer."""

    def __init__(self, confirmation: Confirmation) -> None:
        super().__init__(confirmation.detail)
        self.confirmation = confirmation


def _decide(client: LeaseClient) -> Confirmation:
    found = client.location.notebook_id
    if not found.ok:
        return _listed(client, "no candidate id")
    how = f"from {found.source}"
    try:
        client.request("GET", client.notebook_path(str(found.value)), what="ShowNotebook")
    except NotFoundError as exc:
        why = f"{exc.code or exc.status} not found"
        return _listed(client, f"the guess {found.value} {how}: {why}")
    except LeaseError as exc:
        raise _Transient(Confirmation(str(found.value), how, False, _unconfirmed(exc))) from None
    return Confirmation(str(found.value), how, True, "confirmed by ShowNotebook")


def _unconfirmed(exc: LeaseError) -> str:
    return f"not confirmed: {exc}"


def _listed(client: LeaseClient, why: str) -> Confirmation:
    """The one instance ListNotebooks lists at the ``base_url``, or ConfigurationError."""
    found = client.location.notebook_id
    wanted = uuids_in(client.location.base_url)
    where = f"base_url {client.location.base_url}" if wanted else "no UUID in a server base_url"
    if not wanted:
        raise ConfigurationError(f"notebook id not found ({why}; {where}) — set {ENV_NOTEBOOK_ID}")
    try:
        matches = _matches(client, set(wanted))
    except LeaseError as exc:
        if found.ok:  # the guess may still be right: use it
            how = f"from {found.source}"
            raise _Transient(
                Confirmation(str(found.value), how, False, _unconfirmed(exc))
            ) from None
        raise
    if len(matches) != 1:
        several = f"{len(matches)} instances ({', '.join(sorted(matches))})" if matches else "none"
        raise ConfigurationError(
            f"notebook id not found: {why}; ListNotebooks lists {several} at {where} — "
            f"set {ENV_NOTEBOOK_ID}"
        )
    return Confirmation(matches[0], f"found by ListNotebooks matching {where}", True, why)


def _matches(client: LeaseClient, wanted: set) -> List[str]:
    """Ids of the instances whose url has a path segment in ``wanted``; bounded paging."""
    base = f"/v1/{quote(client.project_id, safe='')}/notebooks"
    seen: set = set()
    matches: List[str] = []
    for page in range(MAX_PAGES):
        data = client.request("GET", f"{base}?limit={PAGE}&offset={page * PAGE}", "ListNotebooks")
        items = data.get("data") if isinstance(data, dict) else None
        items = [i for i in items or () if isinstance(i, dict) and isinstance(i.get("id"), str)]
        new = [i for i in items if i["id"] not in seen]
        for item in new:
            seen.add(item["id"])
            if _url_ids(item.get("url")) & wanted:
                matches.append(item["id"])
        total = data.get("total") if isinstance(data, dict) else None
        # Stop on a short or repeated page (a server that ignores offset), or at the total.
        if len(items) < PAGE or not new or (isinstance(total, int) and len(seen) >= total):
            break
    return matches


def _url_ids(url: Any) -> set:
    if not isinstance(url, str):
        return set()
    try:
        path = urlsplit(url).path
    except ValueError:
        return set()
    return {s.lower() for s in path.split("/") if UUID.fullmatch(s)}
