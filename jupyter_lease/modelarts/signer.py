"""SDK-HMAC-SHA256 request signing, as Huawei Cloud's API gateway checks it.

Pure: no I/O, no clock (the time is passed in as epoch seconds).  The algorithm is the one
the gateway documents and ``huaweicloudsdkcore.signer.Signer`` implements; the test suite
compares this module with that SDK on randomized requests, so when in doubt, the SDK wins.

1. Headers to sign: every header, lower-cased and sorted; names containing ``_`` are skipped.
2. Canonical request: method, canonical URI, canonical query, canonical headers, the signed
   header list and the hex SHA-256 of the body, joined by ``\\n``.
3. String to sign: ``SDK-HMAC-SHA256``, the ``X-Sdk-Date`` value and the hex SHA-256 of the
   canonical request, joined by ``\\n``.
4. Signature: hex HMAC-SHA256 of the string to sign, keyed with the SK.

The simulator uses :func:`verify` to check requests exactly as the gateway would.
"""

from __future__ import annotations

import calendar
import hashlib
import hmac
import re
import time
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union
from urllib.parse import quote, unquote

__all__ = [
    "ALGORITHM",
    "ParsedAuthorization",
    "canonical_request",
    "format_sdk_date",
    "host_header",
    "parse_authorization",
    "parse_sdk_date",
    "sign",
    "signed_header_names",
    "signed_headers",
    "string_to_sign",
    "verify",
]

ALGORITHM = "SDK-HMAC-SHA256"

_SDK_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
_SDK_DATE_RE = re.compile(r"\d{8}T\d{6}Z")
_EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
# The SDK lets a caller declare the payload hash (e.g. "UNSIGNED-PAYLOAD" for uploads).
_CONTENT_SHA256 = "x-sdk-content-sha256"
_DEFAULT_PORTS = {"http": "80", "https": "443"}
_AUTHORIZATION_RE = re.compile(
    r"SDK-HMAC-SHA256\s+Access=([^\s,]+),\s*SignedHeaders=([^\s,]+),\s*Signature=([0-9a-f]{64})\s*"
)
_HEADER_NAME_RE = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")

Body = Union[bytes, str, None]


@dataclass(frozen=True)
class ParsedAuthorization:
    """The three fields of an ``Authorization: SDK-HMAC-SHA256 ...`` header."""

    access: str
    signed_headers: Tuple[str, ...]
    signature: str


def format_sdk_date(now: float) -> str:
    """``X-Sdk-Date`` for epoch seconds ``now``: basic ISO 8601 in UTC, whole seconds."""
    return time.strftime(_SDK_DATE_FORMAT, time.gmtime(now))


def parse_sdk_date(value: str) -> float:
    """Epoch seconds of an ``X-Sdk-Date`` value; ``ValueError`` unless exactly that format.

    Strict on purpose: the gateway rejects anything else, so the simulator must too.
    """
    if not isinstance(value, str) or not _SDK_DATE_RE.fullmatch(value):
        raise ValueError(f"malformed X-Sdk-Date: {value!r}")
    return float(calendar.timegm(time.strptime(value, _SDK_DATE_FORMAT)))


def signed_header_names(headers: Mapping[str, str]) -> List[str]:
    """The header names the signature covers: lower-cased, sorted, without ``_`` names.

    ``Authorization`` is left out: it cannot cover itself (the SDK never passes it in).
    """
    names = {k.lower() for k in headers if "_" not in k and k.lower() != "authorization"}
    return sorted(names)


def canonical_request(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: Body,
    signed: Sequence[str],
) -> str:
    """The canonical request the signature is computed over.

    ``url`` may be absolute (``https://host/path?q``) or just the request target
    (``/path?q``): only the path and query are used; the host comes from ``headers``.
    ``ValueError`` if a header named in ``signed`` is not in ``headers``.
    """
    path, query = _split_target(url)
    lowered = _lower_headers(headers)
    return "\n".join(
        [
            method.upper(),
            _canonical_uri(path),
            _canonical_query(query),
            _canonical_headers(lowered, signed),
            ";".join(signed),
            _payload_hash(lowered, _to_bytes(body)),
        ]
    )


def string_to_sign(canonical: str, sdk_date: str) -> str:
    """What the HMAC is computed over: algorithm, date and the canonical request's hash."""
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{sdk_date}\n{digest}"


def sign(method: str, url: str, headers: Mapping[str, str], body: Body, *, ak: str, sk: str) -> str:
    """The ``Authorization`` value for a request whose headers include ``X-Sdk-Date``.

    ``Host`` is taken from ``headers`` when present, else derived from ``url`` (with the
    port only if it is not the scheme's default) — the gateway always checks it.
    """
    if not ak or not sk:
        raise ValueError("both an access key and a secret key are needed to sign")
    full = dict(headers)
    if not _find_header(full, "host"):
        full["Host"] = host_header(url)
    sdk_date = _find_header(full, "x-sdk-date")
    if sdk_date is None:
        raise ValueError("X-Sdk-Date is required to sign a request")
    names = signed_header_names(full)
    canonical = canonical_request(method, url, full, body, names)
    signature = _hmac_hex(sk, string_to_sign(canonical, sdk_date.strip()))
    return f"{ALGORITHM} Access={ak}, SignedHeaders={';'.join(names)}, Signature={signature}"


def signed_headers(
    method: str,
    url: str,
    body: Body,
    *,
    ak: str,
    sk: str,
    now: float,
    project_id: Optional[str] = None,
    security_token: Optional[str] = None,
    extra: Optional[Mapping[str, str]] = None,
) -> Dict[str, str]:
    """Every header to put on the wire for a signed ModelArts call, ``Authorization`` last.

    The same headers that are signed are the ones returned, so nothing a transport adds
    later (User-Agent, Content-Length, ...) can break the signature: it is not listed in
    ``SignedHeaders``.  ``extra`` headers are added (or override) before signing.
    """
    headers: Dict[str, str] = {"X-Sdk-Date": format_sdk_date(now), "Host": host_header(url)}
    if project_id:
        headers["X-Project-Id"] = project_id
    if security_token:
        headers["X-Security-Token"] = security_token
    headers["Content-Type"] = "application/json"
    for name, value in (extra or {}).items():
        for existing in [k for k in headers if k.lower() == name.lower()]:
            del headers[existing]
        headers[name] = value
    headers["Authorization"] = sign(method, url, headers, body, ak=ak, sk=sk)
    return headers


def parse_authorization(value: str) -> ParsedAuthorization:
    """Split an ``SDK-HMAC-SHA256`` Authorization value; ``ValueError`` if malformed."""
    match = _AUTHORIZATION_RE.fullmatch(value or "")
    if not match:
        raise ValueError("malformed SDK-HMAC-SHA256 Authorization header")
    access, names, signature = match.groups()
    signed = tuple(names.split(";"))
    if not all(_HEADER_NAME_RE.fullmatch(n) for n in signed):
        raise ValueError("malformed SignedHeaders in Authorization header")
    return ParsedAuthorization(access=access, signed_headers=signed, signature=signature)


def verify(method: str, url: str, headers: Mapping[str, str], body: Body, *, sk: str) -> bool:
    """Whether the request's ``Authorization`` signature is valid for ``sk``.

    Recomputed from what was received, over the ``SignedHeaders`` the request lists, and
    compared in constant time.  ``Host`` must be among them (else the signature would not
    bind the endpoint) and ``X-Sdk-Date`` must be well formed.  Freshness of the date and
    which SK belongs to the access key are the caller's business.
    """
    lowered = _lower_headers(headers)
    try:
        parsed = parse_authorization(lowered.get("authorization", ""))
        sdk_date = lowered.get("x-sdk-date", "").strip()
        parse_sdk_date(sdk_date)
        if "host" not in parsed.signed_headers:
            return False
        canonical = canonical_request(method, url, lowered, body, parsed.signed_headers)
    except ValueError:
        return False
    expected = _hmac_hex(sk, string_to_sign(canonical, sdk_date))
    return hmac.compare_digest(expected, parsed.signature)


def host_header(url: str) -> str:
    """``Host`` for ``url``: the authority without user info, port only if non-default."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError(f"an absolute URL is needed to derive Host: {url!r}")
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0].rpartition("@")[2]
    host, colon, port = authority.rpartition(":")
    if colon and "]" not in port and port == _DEFAULT_PORTS.get(scheme.lower()):
        return host
    return authority


# -- helpers -------------------------------------------------------------------------------


def _split_target(url: str) -> Tuple[str, str]:
    """(path, raw query) of an absolute URL or a request target; the fragment is dropped.

    Split by hand, like the gateway's reference signer: ``urllib.parse`` would silently
    drop or re-interpret characters the client really sent.
    """
    url = url.partition("#")[0]
    if not url.startswith("/") and "://" in url.partition("?")[0]:
        rest = url.split("://", 1)[1]
        cut = min((i for i in (rest.find("/"), rest.find("?")) if i >= 0), default=len(rest))
        url = rest[cut:]
    path, _, query = url.partition("?")
    return path or "/", query


def _canonical_uri(path: str) -> str:
    """Each segment of the decoded path re-encoded (safe ``~``), always ending in ``/``.

    Decoding first makes ``a b`` and ``a%20b`` sign the same, whatever the HTTP library
    did to the path on the way out.  The trailing ``/`` exists only in this canonical form.
    """
    uri = "/".join(quote(segment, safe="~") for segment in unquote(path).split("/"))
    return uri if uri.endswith("/") else uri + "/"


def _canonical_query(query: str) -> str:
    """Decoded ``k=v`` pairs sorted by key then value, re-encoded, joined by ``&``.

    ``+`` stays a literal plus (the gateway uses ``unquote``, not form decoding); pairs with
    an empty key are ignored, and a key without ``=`` has the empty value.
    """
    pairs = []
    for item in query.split("&"):
        key, _, value = item.partition("=")
        if key:
            pairs.append((unquote(key), unquote(value)))
    pairs.sort()
    return "&".join(f"{quote(k, safe='~')}={quote(v, safe='~')}" for k, v in pairs)


def _canonical_headers(lowered: Mapping[str, str], signed: Sequence[str]) -> str:
    """``name:value`` lines for the signed headers, values stripped, with a final newline."""
    lines = []
    for name in signed:
        if name not in lowered:
            raise ValueError(f"signed header {name!r} is missing from the request")
        lines.append(f"{name}:{str(lowered[name]).strip()}")
    return "\n".join(lines) + "\n"


def _payload_hash(lowered: Mapping[str, str], body: bytes) -> str:
    """Hex SHA-256 of the body, or the declared ``X-Sdk-Content-Sha256`` (as the SDK does)."""
    if not body:
        return _EMPTY_SHA256
    declared = lowered.get(_CONTENT_SHA256)
    return declared if declared else hashlib.sha256(body).hexdigest()


def _lower_headers(headers: Mapping[str, str]) -> Dict[str, str]:
    """Header names lower-cased; when a name repeats in another case, the last one wins."""
    return {str(k).lower(): str(v) for k, v in headers.items()}


def _find_header(headers: Mapping[str, str], name: str) -> Optional[str]:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def _to_bytes(body: Body) -> bytes:
    if body is None:
        return b""
    return body.encode("utf-8") if isinstance(body, str) else bytes(body)


def _hmac_hex(key: str, message: str) -> str:
    return hmac.new(key.encode("utf-8"), message.encode("utf-8"), hashlib.sha256).hexdigest()
