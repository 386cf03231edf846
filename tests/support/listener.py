"""A tiny HTTP listener on 127.0.0.1 that records what is POSTed to it: the target of Apprise's
``json://127.0.0.1:PORT/…`` in the server-side alert tests. It answers 200, or 500 for the next
``fail_next(n)`` POSTs (a webhook that is down for a moment)."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, List, Optional

__all__ = ["Listener", "Post"]


@dataclass(frozen=True)
class Post:
    path: str
    status: int  # what the listener answered
    body: Any  # the JSON body (or the raw text when not JSON)
    authorization: Optional[str]


class Listener:
    """``with Listener() as hook:`` — ``hook.port``, ``hook.posts``, ``hook.fail_next(1)``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._posts: List[Post] = []
        self._failures = 0
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's spelling
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode("utf-8", "replace")
                try:
                    body: Any = json.loads(raw)
                except ValueError:
                    body = raw
                status = listener._answer()
                with listener._lock:
                    auth = self.headers.get("Authorization")
                    listener._posts.append(Post(self.path, status, body, auth))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:  # quiet
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def _answer(self) -> int:
        with self._lock:
            if self._failures > 0:
                self._failures -= 1
                return 500
            return 200

    def fail_next(self, count: int = 1) -> None:
        with self._lock:
            self._failures = count

    @property
    def posts(self) -> List[Post]:
        with self._lock:
            return list(self._posts)

    def delivered(self) -> List[Post]:
        """The POSTs answered 200."""
        return [p for p in self.posts if p.status == 200]

    def start(self) -> Listener:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Listener:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
