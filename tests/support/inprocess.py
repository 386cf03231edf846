"""Requests to an in-process jupyter_server (pytest-jupyter's ``jp_fetch``), answered in the
shape the real-server tests read: ``status_code``, ``headers``, ``text``, ``json()``."""

from __future__ import annotations

import json
from typing import Any, Callable, Dict


class Answer:
    """A tornado response read like a ``requests.Response``."""

    def __init__(self, response: Any) -> None:
        self.status_code = int(response.code)
        self.headers: Dict[str, str] = dict(response.headers)
        self.text = response.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return json.loads(self.text)


async def get(jp_fetch: Callable[..., Any], path: str, **kwargs: Any) -> Answer:
    """GET ``path`` under the server's base_url, with its token unless ``headers`` say else."""
    return Answer(await jp_fetch(path, method="GET", raise_error=False, **kwargs))


async def post(jp_fetch: Callable[..., Any], path: str, body: Any, **kwargs: Any) -> Answer:
    """POST ``body`` (JSON unless already str/bytes) with the token: no XSRF cookie needed."""
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return Answer(await jp_fetch(path, method="POST", body=data, raise_error=False, **kwargs))
