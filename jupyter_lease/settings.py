"""``c.JupyterLease``: the one configuration, read by the kernels' magic and the server alike.

``c.JupyterLease.warn_at = "20m,5m"`` means the same in ``ipython_config.py`` (the magic, the
widget, the terminal line) and in ``jupyter_server_config.py`` (the server extension, which
serves it to the browser with every reading, and keep-alive while busy). ``%config
JupyterLease.warn_at = …`` changes it in a running kernel.

Typed once: durations and thresholds are :class:`Duration` and :class:`Thresholds` traits, which
check a value when it is set (a bad one is refused in one line naming the trait: a
``TraitError``, or, for an owner with a ``refuse_setting`` method such as the kernel's magic,
that method's say); :func:`resolve` turns the traits into the one value
(:class:`~jupyter_lease.core.resolved.Resolved`) kernel, server and CLI act on, and
:func:`drop_bad_settings` clears a config file's bad values before anything reads them.

Imported by ``%load_ext``: traitlets only, which IPython has loaded already (the parsers load
when a value is checked).
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List

from traitlets import Bool, TraitError, Unicode
from traitlets import List as ListTrait
from traitlets.config import Configurable

from ._defaults import DEFAULT_EXTEND_CHOICES, DEFAULT_EXTEND_DEFAULT, DEFAULT_WARN_AT

__all__ = [
    "Duration",
    "Durations",
    "JupyterLease",
    "Thresholds",
    "configure_new_runtime",
    "drop_bad_settings",
    "provide_runtime_settings",
    "resolve",
]

SECTION = "JupyterLease"
MAX_CHOICES = 24  # a select with more is no longer a choice


def _parse_duration(text: str) -> Any:
    from .core.duration import parse_duration

    return parse_duration(text)


def _parse_thresholds(text: str) -> Any:
    from .core.schedule import parse_thresholds

    return parse_thresholds(text)


def _refused(trait: Any, obj: Any, value: Any, exc: Exception) -> Any:
    """A value a trait refuses: ``obj.refuse_setting(trait, line)`` decides (the kernel's magic
    says the line and keeps the value it had: a TraitError would be a traceback in a cell), else
    a TraitError whose one line names the trait."""
    line = f"c.{SECTION}.{trait.name} = {value!r} is not valid: {exc}"
    refuse = getattr(obj, "refuse_setting", None)
    if refuse is None:
        raise TraitError(line) from None
    return refuse(trait, line)


class _Checked(Unicode):  # type: ignore[type-arg]
    """Text checked by ``parse`` when set; the value stays the text people typed."""

    parse: Callable[[str], Any] = staticmethod(_parse_duration)

    def __init__(self, default_value: Any = "", *, allow_empty: bool = False, **kwargs: Any):
        self.allow_empty = allow_empty
        super().__init__(default_value, **kwargs)

    def validate(self, obj: Any, value: Any) -> Any:
        text = super().validate(obj, value)
        if self.allow_empty and not text.strip():
            return ""
        from ._errors import LeaseError

        try:
            type(self).parse(text)
        except LeaseError as exc:
            return _refused(self, obj, text, exc)
        return text.strip()


class Duration(_Checked):
    """A duration as people type it: ``"30s"``, ``"5m"``, ``"1h30m"``."""

    info_text = "a duration such as 30s, 5m or 1h30m"


class Thresholds(_Checked):
    """Warning thresholds: comma-separated durations, ``"30m,10m,5m,1m"``."""

    info_text = "comma-separated durations such as 30m,10m,5m,1m"
    parse = staticmethod(_parse_thresholds)


class Durations(ListTrait):  # type: ignore[type-arg]
    """1 to :data:`MAX_CHOICES` durations (what Extend offers), duplicates dropped."""

    info_text = f"a list of 1 to {MAX_CHOICES} durations such as ['1h', '2h']"

    def __init__(self, default_value: Any, **kwargs: Any) -> None:
        super().__init__(Unicode(), default_value=list(default_value), **kwargs)

    def validate(self, obj: Any, value: Any) -> Any:
        items = super().validate(obj, value)
        from ._errors import DurationError, LeaseError

        try:
            if not items or len(items) > MAX_CHOICES:
                raise DurationError(f"give 1 to {MAX_CHOICES} durations, e.g. ['1h', '2h']")
            for item in items:
                _parse_duration(item)
        except LeaseError as exc:
            return _refused(self, obj, items, exc)
        return list(dict.fromkeys(item.strip() for item in items))


class JupyterLease(Configurable):
    """Every setting that means the same in a kernel and in the server."""

    warn_at = Thresholds(
        DEFAULT_WARN_AT, help="Warn when this much time is left (comma-separated durations)."
    ).tag(config=True)
    poll_far = Duration("5m", help="Read interval while the stop is more than 30 min away.").tag(
        config=True
    )
    poll_near = Duration("1m", help="Read interval inside 30 min.").tag(config=True)
    poll_final = Duration("15s", help="Read interval inside 5 min.").tag(config=True)
    notifications = Bool(
        True, help="Offer browser notifications at warning thresholds (asked on a click)."
    ).tag(config=True)
    notify_urls = ListTrait(
        Unicode(),
        default_value=[],
        help="Apprise URLs the server alerts at each threshold, with no page open (secrets: "
        "shown as their scheme only; also $JUPYTER_LEASE_NOTIFY, space-separated).",
    ).tag(config=True)
    extend_choices = Durations(
        DEFAULT_EXTEND_CHOICES, help="Durations offered by the Extend buttons."
    ).tag(config=True)
    extend_default = Duration(
        DEFAULT_EXTEND_DEFAULT,
        help="What every Extend (cell widget, panel, warning) offers first, where it lengthens.",
    ).tag(config=True)
    notebook_id = Unicode(
        None, allow_none=True, help="Notebook instance id (default: discovered)"
    ).tag(config=True)
    project_id = Unicode(None, allow_none=True, help="Project id (default: discovered)").tag(
        config=True
    )
    region = Unicode(None, allow_none=True, help="Region (default: discovered)").tag(config=True)
    endpoint = Unicode(None, allow_none=True, help="ModelArts endpoint (default: discovered)").tag(
        config=True
    )
    provider = Unicode(
        None,
        allow_none=True,
        help="modelarts, jupyterhub, slurm or auto (default: $JUPYTER_LEASE_PROVIDER, else auto).",
    ).tag(config=True)
    # JupyterHub: the idle culler's settings, which the Hub does not expose (the server exports
    # them as JUPYTER_LEASE_CULL_TIMEOUT / _CULL_EVERY / _MAX_AGE for its kernels and terminals).
    cull_timeout = Unicode(
        "",
        help="The hub's idle culler --timeout: 3600 or 1h (default: $JUPYTER_LEASE_CULL_TIMEOUT).",
    ).tag(config=True)
    cull_every = Unicode(
        "", help="The hub's idle culler --cull-every (default: $JUPYTER_LEASE_CULL_EVERY)."
    ).tag(config=True)
    max_age = Unicode(
        "", help="The hub's idle culler --max-age (default: $JUPYTER_LEASE_MAX_AGE)."
    ).tag(config=True)
    # Keep alive while busy: the server acts on these (kernels register their work with it).
    renew_while_busy = Duration(
        "",
        allow_empty=True,
        help='Keep the instance alive while a kernel is busy, at most this long ("8h").',
    ).tag(config=True)
    renew_margin = Duration("10m", help="Renew when less than this is left.").tag(config=True)
    renew_step = Duration("1h", help="Push the stop time by this much per renewal.").tag(
        config=True
    )
    renew_check_every = Duration("30s", help="How often busy kernels are looked at.").tag(
        config=True
    )
    renew_max_cap = Duration(
        "24h",
        help="The furthest cap keep alive while busy accepts, from now: a longer 'for', a later "
        "'until' or keep_alive(max_total=...) is refused in one line.",
    ).tag(config=True)

    def location(self) -> dict:
        """The explicit discovery settings (None: discover)."""
        return {
            "notebook_id": self.notebook_id,
            "project_id": self.project_id,
            "region": self.region,
            "endpoint": self.endpoint,
        }


def resolve(config: JupyterLease) -> Any:
    """The traits as the one value kernel, server and CLI act on (a
    :class:`~jupyter_lease.core.resolved.Resolved`); the traits have checked every value."""
    from .core.resolved import resolved

    return resolved(
        warn_at=config.warn_at,
        poll=(config.poll_far, config.poll_near, config.poll_final),
        extend_choices=config.extend_choices,
        extend_default=config.extend_default,
        notifications=config.notifications,
        provider=config.provider,
        location=config.location(),
    )


def drop_bad_settings(config: Any, warn: Callable[[str], None]) -> List[str]:
    """Remove from ``config`` (a traitlets ``Config``) every ``c.JupyterLease`` value its trait
    refuses, with ``warn(line)`` once for each (the line names the trait; its default is used):
    a server reads ``c.JupyterLease`` in several places, and none of them must fail on it."""
    section = config.get(SECTION) if SECTION in config else None
    dropped: List[str] = []
    for name in list(section or ()):
        trial: Dict[str, Any] = {name: section[name]}
        try:
            JupyterLease(**trial)
        except TraitError as exc:
            warn(f"jupyter_lease: {_first_line(exc, name)}; the default is used")
            del section[name]
            dropped.append(name)
        except Exception:  # not a setting of ours (traitlets warns about those itself)
            continue
    return dropped


def _first_line(exc: BaseException, name: str) -> str:
    """A TraitError's one line, naming ``c.JupyterLease.<name>`` (traitlets' own messages, e.g.
    for ``notifications = "yes"``, name the class and trait differently)."""
    line = " ".join(str(exc).split())[:300].rstrip(".")
    return line if f"c.{SECTION}." in line else f"c.{SECTION}.{name}: {line}"


# Kernels: a loaded magic's settings apply to the process's runtime whenever it is created (the
# runtime lives in jupyter_lease.watch, which must not import the kernel package).
_PROVIDERS: Dict[int, Callable[[Any], None]] = {}


def provide_runtime_settings(key: int, apply: Any) -> None:
    """``apply(runtime)`` configures the runtime when it is created; ``None`` withdraws it."""
    if apply is None:
        _PROVIDERS.pop(key, None)
    else:
        _PROVIDERS[key] = apply


def configure_new_runtime(runtime: Any) -> None:
    """Called once, when the process's runtime is created."""
    for apply in list(_PROVIDERS.values()):
        apply(runtime)
