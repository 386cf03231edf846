"""The countdown widget: an anywidget whose JavaScript ticks the countdown by itself.

The synced state is the lease as the browser gets it everywhere: ``reading``, the JSON of
:meth:`jupyter_lease.core.Reading.to_json` (the server extension serves the same), plus the
view's settings. Between changes the browser counts down from the reading's deadline
(``static/present.js`` words it as ``core.present`` does), so the display stays right while a
cell keeps the kernel busy for hours. The view (``static/widget.js``, built from src/widget/)
shows the page's one lease: the JupyterLab extension's store where it runs, else one the
widgets of the page share.

This module is imported only when a widget is shown: it is the one place that imports
``anywidget``/``ipywidgets``. The text forms (``render_text``, ``render_html``) are pure
functions of the synced state and are tested without a kernel.

Synced state never holds a secret: it is saved into notebooks.
"""

from __future__ import annotations

import html
import logging
import os
import pathlib
import threading
import time
from datetime import datetime, timezone
from typing import Any, Callable, Dict, Mapping, Optional, Sequence, Tuple

import anywidget
import traitlets as t

from .._defaults import DEFAULT_EXTEND_DEFAULT
from .._errors import BadResponseError, LeaseError
from ..core import DEFAULT_EXTEND_CHOICES, DEFAULT_WARN_AT_S, Presentation, Reading, present
from ..core.duration import parse_duration
from ..core.reading import failure, one_line
from ..core.words import stage_word
from ..i18n import _, catalogue, language

__all__ = ["CountdownWidget", "render_html", "render_text"]

log = logging.getLogger("jupyter_lease.widget")

# Each poll re-measures ModelArts' clock from a Date header of 1 s resolution: the offset
# narrows by parts of a second for a while. That is no news to send (a widget message per
# poll); a move this large is (a clock stepped). A read someone asked for is sent as read.
CLOCK_NEWS_MS = 1000
# The view's one ES module, bundled by esbuild from the lab extension's TypeScript (src/widget/;
# `npm run build`, which every wheel build and `make labextension` run). Without it (a checkout
# whose front end was never built) the view says so in one line.
_WIDGET_JS = "widget.js"
_UNBUILT_ESM = (
    "export default { render({ el }) { el.textContent = 'jupyter_lease: the countdown view is "
    "not built in this install (npm run build); %lease shows the lease as text.'; } };"
)


def _static_path(name: str) -> str:
    # Relative to this file, not importlib.resources.files (3.9+): kernels run on 3.7 too.
    return os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "static", name)


def _static(name: str) -> str:
    with open(_static_path(name), encoding="utf-8") as fh:
        return fh.read()


def _esm() -> Any:
    """What anywidget takes as ``_esm``: the bundle's path, which anywidget reads itself (and
    re-reads under its hot reload); its text on an anywidget that takes no path."""
    path = _static_path(_WIDGET_JS)
    if not os.path.isfile(path):
        log.debug("the widget bundle %s is missing", path)
        return _UNBUILT_ESM
    try:
        from anywidget._util import try_file_contents  # noqa: F401  (takes a path: 0.2+)
    except ImportError:
        return _static(_WIDGET_JS)
    return pathlib.Path(path)


# -- pure: the text forms ---------------------------------------------------------------------


def _shown(
    state: Mapping[str, Any], now_ms: float, local_tz: Any, lang: Optional[str]
) -> Presentation:
    try:
        reading = Reading.from_json(state.get("reading"))
    except BadResponseError as exc:  # a notebook saved by another version: say so
        reading = Reading(error=str(exc))
    thresholds = state.get("warn_at_s") or DEFAULT_WARN_AT_S
    return present(reading, now_ms / 1000, thresholds, local_tz, lang or language())


def _as_of(shown: Presentation, now_ms: float, lang: str) -> str:
    # Saved notebooks and static renderers keep the text long after: a countdown says when.
    if shown.remaining_s is None:
        return ""
    at = datetime.fromtimestamp(now_ms / 1000, tz=timezone.utc).strftime("%H:%M:%S")
    return _(" as of {time} UTC", lang).format(time=at)


def render_text(
    state: Mapping[str, Any], now_ms: float, local_tz: Any = None, lang: Optional[str] = None
) -> str:
    """``jupyter_lease: 1 h 05 min left as of 13:00:00 UTC · stops 14:05:00 local (13:05:00
    UTC) [plenty]``. ``state`` holds the synced fields; ``now_ms`` is this host's epoch ms;
    ``lang`` the words' language (None: the process's, :func:`jupyter_lease.i18n.language`)."""
    lang = lang or language()
    shown = _shown(state, now_ms, local_tz, lang)
    text = f"jupyter_lease: {shown.headline}{_as_of(shown, now_ms, lang)}"
    if shown.detail:
        text += f" · {shown.detail}"
    return f"{text} [{stage_word(shown.stage, lang)}]"


_HTML_COLOURS = {
    "plenty": "#2e7d32",
    "warning": "#ef6c00",
    "critical": "#c62828",
    "expired": "#c62828",
    "idle": "#1976d2",
    "off": "#1976d2",
}


def render_html(
    state: Mapping[str, Any], now_ms: float, local_tz: Any = None, lang: Optional[str] = None
) -> str:
    """A small static snapshot of the same, escaped, with inline styles (no stylesheet needed)."""
    lang = lang or language()
    shown = _shown(state, now_ms, local_tz, lang)
    colour = _HTML_COLOURS.get(shown.stage, "#757575")
    stage = stage_word(shown.stage, lang)
    source = str((state.get("reading") or {}).get("source_id") or "")
    bits = [
        f'<div class="jupyter-lease-static" data-stage="{html.escape(shown.stage)}" '
        f'style="font-family:var(--jp-ui-font-family,sans-serif);font-size:13px;'
        f"padding:4px 8px;border-left:4px solid {colour};"
        f'color:var(--jp-ui-font-color1,inherit)">',
        "<b>jupyter_lease</b> ",
        html.escape(shown.headline + _as_of(shown, now_ms, lang)),
        f' <span style="color:{colour};font-weight:600">[{html.escape(stage)}]</span>',
    ]
    if source:
        notebook = _("notebook {id}", lang).format(id=source[:8])
        bits.append(f' <span style="opacity:.7">· {html.escape(notebook)}</span>')
    if shown.detail:
        bits.append(f'<div style="opacity:.8">{html.escape(shown.detail)}</div>')
    bits.append("</div>")
    return "".join(bits)


def _is_news(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """Whether ``new`` says anything ``old`` did not, beyond a later read and a clock offset
    narrowed by less than :data:`CLOCK_NEWS_MS`."""
    quiet = ("read_at_ms", "clock_offset_ms")
    if {k: v for k, v in old.items() if k not in quiet} != {
        k: v for k, v in new.items() if k not in quiet
    }:
        return True
    moved = abs((new.get("clock_offset_ms") or 0) - (old.get("clock_offset_ms") or 0))
    return moved >= CLOCK_NEWS_MS


def _seconds(warn_at: Sequence[Any]) -> list:
    return sorted({int(round(w.total_seconds())) for w in warn_at}, reverse=True)


# -- the widget ---------------------------------------------------------------------------------


class CountdownWidget(anywidget.AnyWidget):  # type: ignore[misc]
    """A live lease countdown with warnings and an Extend button.

    ``CountdownWidget(notifications=True, extend_choices=[...])``, then ``bind(watcher)``
    (returns an unbind function) and ``display(widget)`` from the main thread. The watcher
    thread updates the traits; the browser ticks on its own.
    """

    _esm = _esm()
    _css = _static("countdown.css")

    # THE browser JSON of the lease (Reading.to_json), as the server extension serves it too.
    reading = t.Dict(Reading().to_json()).tag(sync=True)
    # This host's wall clock when the state last changed: the browser's fallback anchor.
    kernel_now_ms = t.Int(0).tag(sync=True)
    # The kernel's own present() stage, sent at each crossing (the browser derives its own).
    stage = t.Unicode("unknown").tag(sync=True)
    warn_at_s = t.List(t.Int(), default_value=[int(s) for s in DEFAULT_WARN_AT_S]).tag(sync=True)
    notifications = t.Bool(True).tag(sync=True)
    extend_choices = t.List(t.Unicode(), default_value=list(DEFAULT_EXTEND_CHOICES)).tag(sync=True)
    # c.JupyterLease.extend_default: the choice Extend selects first (the panel's and toast's too).
    extend_default = t.Unicode(DEFAULT_EXTEND_DEFAULT).tag(sync=True)
    message = t.Unicode("").tag(sync=True)
    message_ok = t.Bool(False).tag(sync=True)  # whether ``message`` says it worked
    busy = t.Bool(False).tag(sync=True)
    # The kernel process's language (LANG/LC_MESSAGES, as gettext reads it): the live words too,
    # and its catalogue (the JupyterLab .json; {} in English) for the view's own words.
    lang = t.Unicode("en").tag(sync=True)
    catalogue = t.Dict({}).tag(sync=True)

    def __init__(self, watcher: Any = None, **kwargs: Any) -> None:
        kwargs.setdefault("kernel_now_ms", _now_ms())
        kwargs.setdefault("lang", language())
        kwargs.setdefault("catalogue", catalogue(kwargs["lang"]))
        super().__init__(**kwargs)
        self._lock = threading.RLock()
        self._extend_lock = threading.Lock()
        self._watcher: Any = None
        self._remove_listener: Optional[Callable[[], None]] = None
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

    def sync(self, exact: bool = False) -> None:
        """Bring the traits up to date with the watcher now (sends only what changed). With
        ``exact``, the reading as read, however little changed (after a read someone asked for)."""
        watcher = self._watcher
        if watcher is not None:
            self._apply(watcher.snapshot, watcher, exact)

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

    def _apply(self, snapshot: Any, watcher: Any, exact: bool = False) -> None:
        reading = snapshot.reading.to_json()
        new = {
            "reading": reading,
            "stage": snapshot.present(watcher.monotonic(), watcher.warn_at).stage,
            "warn_at_s": _seconds(watcher.warn_at),
        }
        with self._lock:
            if not exact and not _is_news(self.reading, reading):
                del new["reading"]
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
        ok = False
        try:
            with self._lock:
                self.busy = True
            text, ok = self._extend(duration)
        except Exception:  # never into the kernel
            log.debug("extend failed", exc_info=True)
            text = "extend failed: unexpected error"
        finally:
            self._extend_lock.release()
        with self._lock, self.hold_sync():
            self.message_ok = ok
            self.message = text
            self.busy = False
        return text

    @t.observe("lang")
    def _lang_changed(self, change: Any) -> None:
        self.catalogue = catalogue(change["new"])

    def _extend(self, duration: Any) -> Tuple[str, bool]:
        """The one-line result, and whether the lease was extended."""
        watcher = self._watcher
        if watcher is None:
            return "extend failed: not connected to a lease watcher", False
        if not isinstance(duration, str) or not duration.strip():
            return "extend failed: choose a duration such as 2h", False
        try:
            # The source judges the amount (ModelArts 1–72 h, Slurm 1 min–7 d): one line if not.
            extended = watcher.source.extend(parse_duration(duration.strip()).total_seconds())
            if extended.stale:  # the provider did not confirm it: its error, one line
                raise failure(extended)
        except LeaseError as exc:
            return one_line(str(exc)) or "extend failed", False
        snapshot = watcher.poll()  # listeners (this widget too) see the new deadline now
        watcher.refresh()  # and the thread re-plans its polls around it
        self.sync(exact=True)
        if not snapshot.known or snapshot.stale:  # the read-back is what the renewal said
            shown = present(extended, time.time(), lang=language())
        else:
            shown = watcher.present(language())
        return _("Extended: {headline}").format(headline=shown.headline), True

    # -- static forms ---------------------------------------------------------------------------

    def state_dict(self) -> Dict[str, Any]:
        """The synced fields the text forms are made from."""
        return {"reading": self.reading, "warn_at_s": self.warn_at_s}

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
