"""The status item of the front-end extension (JupyterLab's status bar, Notebook 7's top bar):
pages opened without any notebook, what the item shows, its toasts, its settings file."""

from __future__ import annotations

import json
import re
from typing import Any, Dict, List, Optional

from .jupyter import JupyterServer
from .page import parse_countdown, screenshot_dir

__all__ = [
    "ITEM",
    "PANEL",
    "TOAST_TEXT",
    "item_seconds",
    "item_state",
    "page_url",
    "refresh",
    "screenshot",
    "screenshot_bottom",
    "toasts",
    "visibility",
    "wait_item",
    "write_settings",
]

ITEM = ".jp-LeaseItem"
PANEL = ".jp-LeasePanel"
TOAST_TEXT = "left before this instance stops"
_STATE = f"""() => {{
  const el = document.querySelector("{ITEM}");
  if (!el) return null;
  return {{
    text: el.textContent,
    stage: el.dataset.stage,
    stale: el.dataset.stale,
    tooltip: el.title,
    color: getComputedStyle(el).color,
    title: document.title,
    ids: [...el.querySelectorAll("[id]")].map((e) => e.id).concat(el.id ? [el.id] : []),
  }};
}}"""


def visibility(hidden: bool) -> str:
    """An init script: the page reports itself hidden (or visible) whatever the headless browser
    says, until ``window.__leaseShow(true|false)`` flips it and dispatches ``visibilitychange``
    (Playwright emulates no visibility; a real tab switch does the same)."""
    return f"""(() => {{
  let hidden = {"true" if hidden else "false"};
  Object.defineProperty(Document.prototype, "hidden", {{ get: () => hidden, configurable: true }});
  Object.defineProperty(Document.prototype, "visibilityState", {{
    get: () => (hidden ? "hidden" : "visible"), configurable: true,
  }});
  window.__leaseShow = (visible) => {{
    hidden = !visible;
    document.dispatchEvent(new Event("visibilitychange"));
  }};
}})();"""


def write_settings(server: JupyterServer, **values: Any) -> None:
    """The extension's user settings (schema/plugin.json), read by the next page load."""
    folder = server.root / "config" / "lab" / "user-settings" / "jupyter-lease"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "plugin.jupyterlab-settings").write_text(json.dumps(values))


def page_url(server: JupyterServer, workspace: str = "lease") -> str:
    """JupyterLab (a workspace of its own) or Notebook 7's tree page: no notebook, no kernel."""
    path = f"lab/workspaces/{workspace}" if server.app == "lab" else "tree"
    return server.url(path) + (f"?token={server.token}" if server.token else "")


def item_state(page: Any) -> Optional[Dict[str, Any]]:
    return page.evaluate(_STATE)


def item_seconds(text: str) -> Optional[float]:
    """Seconds shown by ``⏳ 9:05`` or ``⏳ 1 h 00 min`` (a `` · stale`` suffix allowed)."""
    return parse_countdown(re.sub(r"^⏳ | · stale$", "", text.strip()))


def wait_item(page: Any, predicate: str = "/\\d/.test(el.textContent)", timeout: float = 30):
    """Until the item exists and ``predicate`` (JS, on ``el``) holds; returns its state."""
    page.wait_for_function(
        f'() => {{ const el = document.querySelector("{ITEM}"); return el && ({predicate}); }}',
        timeout=timeout * 1000,
        polling=100,
    )
    return item_state(page)


def refresh(page: Any) -> None:
    """The extension's "Check the lease now" command (instead of waiting 2 min for a poll)."""
    page.evaluate("() => window.jupyterapp.commands.execute('jupyter-lease:refresh')")


def toasts(page: Any) -> List[str]:
    """The texts of the lease's toasts on the page now."""
    return page.evaluate(
        f"""() => [...document.querySelectorAll(".Toastify__toast")]
              .map((t) => t.textContent).filter((t) => t.includes("{TOAST_TEXT}"))"""
    )


def screenshot(page: Any, name: str, selector: Optional[str] = None, pad: int = 0) -> None:
    """Into ``$JUPYTER_LEASE_SCREENSHOTS`` when set: the element (with ``pad`` px around)."""
    directory = screenshot_dir()
    if directory is None:
        return
    if selector is None:
        page.screenshot(path=str(directory / name))
        return
    box = _settled_box(page, selector)
    clip = {
        "x": max(0, box["x"] - pad),
        "y": max(0, box["y"] - pad),
        "width": box["width"] + 2 * pad,
        "height": box["height"] + 2 * pad,
    }
    page.screenshot(path=str(directory / name), clip=clip, animations="disabled")


def _settled_box(page: Any, selector: str) -> Dict[str, float]:
    """The element's box once it has stopped moving (a toast slides in)."""
    box = page.locator(selector).first.bounding_box()
    for _ in range(20):
        page.wait_for_timeout(150)
        again = page.locator(selector).first.bounding_box()
        if again == box:
            break
        box = again
    return box


def screenshot_bottom(page: Any, name: str, height: int = 150) -> None:
    """The bottom of the window, whole width: the status bar with a toast above it."""
    directory = screenshot_dir()
    if directory is None:
        return
    size = page.viewport_size
    clip = {"x": 0, "y": size["height"] - height, "width": size["width"], "height": height}
    page.screenshot(path=str(directory / name), clip=clip, animations="disabled")
