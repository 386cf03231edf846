"""``c.JupyterLease``: the one configuration, read by the kernels' magic and the server alike.

``c.JupyterLease.warn_at = "20m,5m"`` means the same in ``ipython_config.py`` (the magic, the
widget, the terminal line) and in ``jupyter_server_config.py`` (the server extension, which
serves it to the browser with every reading, and keep-alive while busy). ``%config
JupyterLease.warn_at = …`` changes it in a running kernel.

Imported by ``%load_ext``: traitlets only, which IPython has loaded already.
"""

from __future__ import annotations

from traitlets import Bool, Unicode
from traitlets import List as ListTrait
from traitlets.config import Configurable

from ._defaults import DEFAULT_EXTEND_CHOICES, DEFAULT_EXTEND_DEFAULT, DEFAULT_WARN_AT

__all__ = ["JupyterLease"]


class JupyterLease(Configurable):
    """Every setting that means the same in a kernel and in the server."""

    warn_at = Unicode(
        DEFAULT_WARN_AT, help="Warn when this much time is left (comma-separated durations)."
    ).tag(config=True)
    poll_far = Unicode("5m", help="Read interval while the stop is more than 30 min away.").tag(
        config=True
    )
    poll_near = Unicode("1m", help="Read interval inside 30 min.").tag(config=True)
    poll_final = Unicode("15s", help="Read interval inside 5 min.").tag(config=True)
    notifications = Bool(
        True, help="Offer browser notifications at warning thresholds (asked on a click)."
    ).tag(config=True)
    notify_urls = ListTrait(
        Unicode(),
        default_value=[],
        help="Apprise URLs the server alerts at each threshold, with no page open (secrets: "
        "shown as their scheme only; also $JUPYTER_LEASE_NOTIFY, space-separated).",
    ).tag(config=True)
    extend_choices = ListTrait(
        Unicode(),
        default_value=list(DEFAULT_EXTEND_CHOICES),
        help="Durations offered by the Extend buttons.",
    ).tag(config=True)
    extend_default = Unicode(
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
    renew_while_busy = Unicode(
        "", help='Keep the instance alive while a kernel is busy, at most this long ("8h").'
    ).tag(config=True)
    renew_margin = Unicode("10m", help="Renew when less than this is left.").tag(config=True)
    renew_step = Unicode("1h", help="Push the stop time by this much per renewal.").tag(config=True)
    renew_check_every = Unicode("30s", help="How often busy kernels are looked at.").tag(
        config=True
    )
    renew_max_cap = Unicode(
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
