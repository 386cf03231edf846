"""The countdown widget: an anywidget whose JavaScript ticks the countdown by itself.

The kernel sends state only when something real changes (the lease, the thresholds, staleness,
the stage at a crossing); between those the browser counts down from an absolute deadline with
its own timer, so the display stays right while a cell keeps the kernel busy for hours.

This module is imported only when a widget is shown: it is the one place that imports
``anywidget``/``ipywidgets``. The text forms (``widget_state``, ``render_text``,
``render_html``) are pure functions of the synced state and are tested without a kernel.

Synced state never holds a secret: it is saved into notebooks.
"""

from __future__ import annotations

import html
import logging
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Dict, Mapping, NamedTuple, Optional, Sequence

import anywidget
import traitlets as t

from ._duration import format_remaining
from ._errors import LeaseError, scrub
from ._schedule import DEFAULT_WARN_AT, Stage, stage_for

__all__ = [
    "DEFAULT_EXTEND_CHOICES",
    "CountdownWidget",
    "render_html",
    "render_text",
    "span_ms",
    "widget_state",
]

log = logging.getLogger("jupyter_lease.widget")

DEFAULT_EXTEND_CHOICES = ("1h", "2h", "4h", "8h", "24h", "72h")

# The kernel re-measures the server's clock at every poll (Date header, ±0.5 s): the same lease
# then maps to a deadline on this host's clock that wobbles by up to a second. Sending each
# wobble would make every poll a widget message; a real change of the lease or a clock step is
# far larger than this.
DEADLINE_TOLERANCE_MS = 1500

# The synced fields derived from the watcher; ``kernel_now_ms`` goes with any change of these.
_DERIVED = (
    "kind",
    "deadline_ms",
    "span_ms",
    "idle_after_s",
    "stage",
    "stale",
    "stopped",
    "error",
    "warn_at_s",
)


def _static(name: str) -> str:
    # Next to this module, not importlib.resources.files (3.9+): the kernel may be Python 3.7.
    return (Path(__file__).parent / "static" / name).read_text(encoding="utf-8")


# -- pure: state and text forms -----------------------------------------------------------------


def _one_line(text: Optional[str], limit: int = 300) -> str:
    if not text:
        return ""
    line = scrub(" ".join(str(text).split()))
    return line if len(line) <= limit else line[: limit - 1] + "…"


def widget_state(
    snapshot: Any,
    *,
    mono_now: float,
    warn_at: Sequence[timedelta] = DEFAULT_WARN_AT,
) -> Dict[str, Any]:
    """The synced fields a watcher ``Snapshot`` maps to (all but ``kernel_now_ms``).

    ``deadline_ms`` is the server's deadline moved onto this host's clock (server deadline −
    ``snapshot.clock_offset``), so that the browser, which measures its own offset to this host,
    never needs the server's clock. ``span_ms`` is the progress bar's 100 %: see :func:`span_ms`.
    """
    lease = snapshot.lease
    deadline = snapshot.deadline  # server epoch seconds or None
    offset = snapshot.clock_offset or 0.0
    thresholds = sorted({int(round(w.total_seconds())) for w in warn_at}, reverse=True)
    stage = snapshot.stage(mono_now, warn_at)
    return {
        "kind": "unknown" if lease is None else lease.kind.value,
        "deadline_ms": None if deadline is None else int(round((deadline - offset) * 1000)),
        "span_ms": None if deadline is None or lease is None else span_ms(lease),
        "idle_after_s": (
            None
            if lease is None or lease.idle_after is None
            else int(lease.idle_after.total_seconds())
        ),
        "stage": stage.value,
        "stale": bool(snapshot.stale),
        "stopped": bool(snapshot.stopped),
        "error": _one_line(snapshot.last_error),
        "warn_at_s": thresholds,
    }


def span_ms(lease: Any) -> Optional[int]:
    """The length of the current lease period: from the last renewal to the deadline.

    A renewal keeps ``create_at`` and moves the deadline to ``now + duration``, so the lease's
    own ``duration`` grows with every extension; ``update_at`` (the last change) to the deadline
    is what was granted last — right after an Extend the bar is full again. Without a usable
    ``update_at``, the whole ``duration``.
    """
    deadline = lease.deadline_ms
    if deadline is None:
        return None
    update_at = lease.update_at
    if update_at is not None and lease.create_at <= update_at < deadline:
        return int(deadline - update_at)
    return int(lease.duration)


def _utc(ms: float) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%H:%M:%S UTC")


class _Parts(NamedTuple):
    stage: str
    headline: str
    detail: str = ""


def _describe(state: Mapping[str, Any], now_ms: float) -> _Parts:
    """The pieces both text forms are made of: stage, headline, detail."""
    kind = state.get("kind") or "unknown"
    error = _one_line(state.get("error"))
    deadline = state.get("deadline_ms")
    if state.get("stopped"):
        return _Parts(Stage.STOPPED.value, "the instance is not running", error)
    if kind == "disabled":
        return _Parts(Stage.NO_DEADLINE.value, "auto-stop is off")
    if kind == "idle":
        idle = state.get("idle_after_s")
        after = format_remaining(timedelta(seconds=idle)) if idle else "a period"
        return _Parts(Stage.NO_DEADLINE.value, f"stops after {after} idle")
    if kind != "timed" or deadline is None:
        return _Parts(Stage.UNKNOWN.value, "lease unknown", error)
    remaining_ms = deadline - now_ms
    if remaining_ms <= 0:
        return _Parts(Stage.STOPPED.value, f"the lease ran out at {_utc(deadline)}", error)
    warn_at = [timedelta(seconds=s) for s in state.get("warn_at_s") or ()] or DEFAULT_WARN_AT
    stage = stage_for(timedelta(milliseconds=remaining_ms), warn_at)
    left = format_remaining(timedelta(milliseconds=remaining_ms))
    headline = f"{left} left as of {_utc(now_ms)} (stops {_utc(deadline)})"
    detail = ""
    if state.get("stale"):
        detail = f"last known; {error}" if error else "last known"
    return _Parts(stage.value, headline, detail)


def render_text(state: Mapping[str, Any], now_ms: float) -> str:
    """``jupyter_lease: 1 h 05 min left as of 13:00:00 UTC (stops 14:05:00 UTC) [warning]``.

    ``state`` holds the widget's synced fields; ``now_ms`` is this host's epoch ms (the clock
    ``deadline_ms`` is on). A snapshot: it says when it was true, because saved notebooks and
    static renderers keep it long after.
    """
    parts = _describe(state, now_ms)
    text = f"jupyter_lease: {parts.headline}"
    if parts.detail:
        text += f" · {parts.detail}"
    return f"{text} [{parts.stage}]"


_HTML_COLOURS = {
    "plenty": "#2e7d32",
    "warning": "#ef6c00",
    "critical": "#c62828",
    "stopped": "#757575",
    "unknown": "#757575",
    "no-deadline": "#1976d2",
}


def render_html(state: Mapping[str, Any], now_ms: float) -> str:
    """A small static snapshot of the same, escaped, with inline styles (no stylesheet needed)."""
    parts = _describe(state, now_ms)
    colour = _HTML_COLOURS.get(parts.stage, "#757575")
    notebook = str(state.get("notebook_id") or "")
    bits = [
        f'<div class="jupyter-lease-static" data-stage="{html.escape(parts.stage)}" '
        f'style="font-family:var(--jp-ui-font-family,sans-serif);font-size:13px;'
        f"padding:4px 8px;border-left:4px solid {colour};"
        f'color:var(--jp-ui-font-color1,inherit)">',
        "<b>jupyter_lease</b> ",
        f"{html.escape(parts.headline)}",
        f' <span style="color:{colour};font-weight:600">[{html.escape(parts.stage)}]</span>',
    ]
    if notebook:
        bits.append(f' <span style="opacity:.7">· notebook {html.escape(notebook[:8])}</span>')
    if parts.detail:
        bits.append(f'<div style="opacity:.8">{html.escape(parts.detail)}</div>')
    bits.append("</div>")
    return "".join(bits)


def extend_message(remaining: Optional[timedelta]) -> str:
    if remaining is None:
        return "Extended"
    return f"Extended: {format_remaining(remaining)} left"


# -- the widget ---------------------------------------------------------------------------------


class CountdownWidget(anywidget.AnyWidget):  # type: ignore[misc]
    """A live lease countdown with warnings and an Extend button.

    ``CountdownWidget(notifications=True, extend_choices=[...])``, then ``bind(watcher)``
    (returns an unbind function) and ``display(widget)`` from the main thread. The watcher
    thread updates the traits; the browser ticks on its own.
    """

    _esm = _static("countdown.js")
    _css = _static("countdown.css")

    # The deadline on the kernel host's wall clock (server deadline − clock offset), epoch ms.
    deadline_ms = t.Int(None, allow_none=True).tag(sync=True)
    # The kernel host's wall clock when the state last changed: the browser's fallback anchor.
    kernel_now_ms = t.Int(0).tag(sync=True)
    # The length of the current lease period (ms), last renewal → deadline: the bar's 100 %.
    span_ms = t.Int(None, allow_none=True).tag(sync=True)
    kind = t.Unicode("unknown").tag(sync=True)  # timed | idle | disabled | unknown
    idle_after_s = t.Int(None, allow_none=True).tag(sync=True)
    stage = t.Unicode(Stage.UNKNOWN.value).tag(sync=True)  # the kernel's view, see _schedule
    stale = t.Bool(False).tag(sync=True)
    stopped = t.Bool(False).tag(sync=True)
    error = t.Unicode("").tag(sync=True)
    warn_at_s = t.List(
        t.Int(), default_value=[int(w.total_seconds()) for w in DEFAULT_WARN_AT]
    ).tag(sync=True)
    notebook_id = t.Unicode("").tag(sync=True)
    notifications = t.Bool(True).tag(sync=True)
    extend_choices = t.List(t.Unicode(), default_value=list(DEFAULT_EXTEND_CHOICES)).tag(sync=True)
    message = t.Unicode("").tag(sync=True)
    busy = t.Bool(False).tag(sync=True)

    def __init__(self, watcher: Any = None, **kwargs: Any) -> None:
        kwargs.setdefault("kernel_now_ms", _now_ms())
        super().__init__(**kwargs)
        self._lock = threading.RLock()
        self._extend_lock = threading.Lock()
        self._watcher: Any = None
        self._remove_listener: Optional[Callable[[], None]] = None
        self._server_deadline_ms: Optional[int] = None  # what the current deadline_ms came from
        self.on_msg(self._on_custom_msg)
        if watcher is not None:
            self.bind(watcher)

    # -- binding to a watcher -------------------------------------------------------------------

    def bind(self, watcher: Any) -> Callable[[], None]:
        """Follow ``watcher`` (replacing any earlier one); returns a function that stops it."""
        self.unbind()
        with self._lock:
            self._watcher = watcher
            self._remove_listener = watcher.add_listener(self._on_event)
        self.sync()
        return self.unbind

    def unbind(self) -> None:
        """Stop following the watcher. Idempotent."""
        with self._lock:
            remove, self._remove_listener = self._remove_listener, None
            self._watcher = None
        if remove is not None:
            remove()

    def sync(self) -> None:
        """Bring the traits up to date with the watcher now (sends only what changed)."""
        watcher = self._watcher
        if watcher is not None:
            self._apply(watcher.snapshot, watcher)

    def close(self) -> None:
        self.unbind()
        super().close()

    def _on_event(self, event: Any) -> None:
        # Runs in the watcher thread. "warning" events are the browser's business: it computes
        # thresholds from the deadline on its own clock, also while the kernel is busy.
        if event.kind not in ("update", "stage"):
            return
        watcher = self._watcher
        if watcher is not None:
            self._apply(event.snapshot, watcher)

    def _apply(self, snapshot: Any, watcher: Any) -> None:
        new = widget_state(snapshot, mono_now=watcher.monotonic(), warn_at=watcher.warn_at)
        with self._lock:
            server_deadline = None if snapshot.lease is None else snapshot.lease.deadline_ms
            if (
                new["deadline_ms"] is not None
                and self.deadline_ms is not None
                and server_deadline == self._server_deadline_ms
                and abs(new["deadline_ms"] - self.deadline_ms) < DEADLINE_TOLERANCE_MS
            ):
                new["deadline_ms"] = self.deadline_ms  # the same deadline, re-measured
            else:
                self._server_deadline_ms = server_deadline
            if not self.notebook_id and snapshot.lease is not None:
                new["notebook_id"] = _notebook_id(watcher)
            changed = {k: v for k, v in new.items() if getattr(self, k) != v}
            if not changed:
                return
            changed["kernel_now_ms"] = _now_ms()
            with self.hold_sync():
                for name, value in changed.items():
                    setattr(self, name, value)

    # -- extend ---------------------------------------------------------------------------------

    def _on_custom_msg(self, _widget: Any, content: Any, _buffers: Any = None) -> None:
        if not isinstance(content, dict) or content.get("type") != "extend":
            return
        # Off the shell thread: a slow or retried RenewLease must not hold up the next cell.
        threading.Thread(
            target=self.extend,
            args=(content.get("duration"),),
            name="jupyter-lease-extend",
            daemon=True,
        ).start()

    def extend(self, duration: Any) -> str:
        """Renew by ``duration`` ("2h"); set ``message`` to the one-line result. Never raises."""
        if not self._extend_lock.acquire(blocking=False):
            return "extend: an extension is already in progress"
        try:
            with self._lock:
                self.busy = True
            text = self._extend(duration)
        except Exception:  # never into the kernel
            log.debug("extend failed", exc_info=True)
            text = "extend failed: unexpected error"
        finally:
            self._extend_lock.release()
        with self._lock, self.hold_sync():
            self.message = text
            self.busy = False
        return text

    def _extend(self, duration: Any) -> str:
        watcher = self._watcher
        if watcher is None:
            return "extend failed: not connected to a lease watcher"
        if not isinstance(duration, str) or not duration.strip():
            return "extend failed: choose a duration such as 2h"
        try:
            client = watcher.client
            lease = client.renew(duration.strip())
        except LeaseError as exc:
            return _one_line(str(exc)) or "extend failed"
        snapshot = watcher.poll()  # listeners (this widget too) see the new deadline now
        watcher.refresh()  # and the thread re-plans its polls around it
        if snapshot.lease is not None and not snapshot.stale:
            remaining = snapshot.remaining(watcher.monotonic())
        else:
            remaining = lease.remaining(client.server_now())
        return extend_message(remaining)

    # -- static forms ---------------------------------------------------------------------------

    def state_dict(self) -> Dict[str, Any]:
        """The synced fields the text forms are made from."""
        return {name: getattr(self, name) for name in (*_DERIVED, "notebook_id")}

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is None:
            return None
        data, metadata = bundle if isinstance(bundle, tuple) else (bundle, {})
        now = _now_ms()
        state = self.state_dict()
        data = dict(data)
        data["text/plain"] = render_text(state, now)
        data["text/html"] = render_html(state, now)
        return data, metadata


def _now_ms() -> int:
    return int(time.time() * 1000)


def _notebook_id(watcher: Any) -> str:
    # Only called after a successful poll, so the client exists: this never runs discovery.
    try:
        return str(watcher.client.notebook_id)
    except Exception:
        return ""
