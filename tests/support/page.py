"""A notebook page driven as a user drives it: Playwright's page on a :class:`JupyterServer`'s
notebook; wait for the kernel, run cells with Shift+Enter, read prompts and the countdown widget."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any, Dict, Optional

from .jupyter import JupyterServer

__all__ = ["COUNTDOWN", "PANEL", "NotebookPage", "parse_countdown", "screenshot_dir"]

PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"  # the notebook in front
COUNTDOWN = f"{PANEL} .jl-countdown"
SCREENSHOTS_ENV = "JUPYTER_LEASE_SCREENSHOTS"
_MSS = re.compile(r"^(\d+):(\d\d)$")
_HM = re.compile(r"^(?:(\d+) h )?(\d+) min$")


def parse_countdown(text: str) -> Optional[float]:
    """Seconds shown by the widget's time text (``9:05`` or ``2 h 00 min``), or None."""
    text = text.strip()
    match = _MSS.match(text)
    if match:
        return int(match.group(1)) * 60 + int(match.group(2))
    match = _HM.match(text)
    if match:
        return int(match.group(1) or 0) * 3600 + int(match.group(2)) * 60
    return None


def screenshot_dir() -> Optional[Path]:
    """Where to save screenshots (``$JUPYTER_LEASE_SCREENSHOTS``), or None: don't."""
    value = os.environ.get(SCREENSHOTS_ENV, "").strip()
    if not value:
        return None
    path = Path(value).expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


_CURRENT_KERNEL = """() => {
  const app = window.jupyterapp;
  const widget = app && app.shell && app.shell.currentWidget;
  const context =
    widget && (widget.sessionContext || (widget.context && widget.context.sessionContext));
  const kernel = context && context.session && context.session.kernel;
  if (!kernel || kernel.connectionStatus !== "connected") return null;
  return {id: kernel.id, status: kernel.status};
}"""


class NotebookPage:
    """One notebook open in JupyterLab or Notebook 7 (Playwright sync API)."""

    def __init__(self, page: Any, server: JupyterServer, name: str) -> None:
        self.page, self.server, self.name = page, server, name

    def open(self, timeout: float = 60.0) -> NotebookPage:
        self.page.goto(self.server.page_url(self.name), wait_until="domcontentloaded")
        self.wait_kernel_idle(timeout)
        return self

    def reload(self, timeout: float = 60.0) -> None:
        self.page.reload(wait_until="domcontentloaded")
        self.wait_kernel_idle(timeout)

    def kernel(self) -> Optional[Dict[str, Any]]:
        return self.page.evaluate(_CURRENT_KERNEL)

    def wait_kernel_idle(self, timeout: float = 60.0) -> str:
        """Until the notebook's kernel exists, is connected and idle (JupyterLab shows "idle"
        before the kernel exists: running cells earlier opens a kernel dialog)."""
        handle = self.page.wait_for_function(
            f"() => {{ const k = ({_CURRENT_KERNEL})(); return k && k.status === 'idle' && k; }}",
            timeout=timeout * 1000,
            polling=200,
        )
        return str(handle.json_value()["id"])

    @property
    def kernel_id(self) -> str:
        info = self.kernel()
        assert info is not None, "no kernel connected"
        return str(info["id"])

    def cell(self, index: int) -> Any:
        return self.page.locator(f"{PANEL} .jp-Notebook .jp-Cell").nth(index)

    def run_cells(self, count: int, first: int = 0) -> None:
        """Select cell ``first`` and press Shift+Enter ``count`` times, as a user does."""
        self.cell(first).locator(".jp-InputPrompt").click()
        for _ in range(count):
            self.page.keyboard.press("Shift+Enter")

    def prompt(self, index: int) -> str:
        return self.cell(index).locator(".jp-InputPrompt").inner_text().strip()

    def is_running(self, index: int) -> bool:
        return self.prompt(index).startswith("[*]")

    def wait_running(self, index: int, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.is_running(index):
            if time.monotonic() > deadline:
                raise AssertionError(f"cell {index} did not start: prompt {self.prompt(index)!r}")
            time.sleep(0.1)

    def save(self) -> None:
        self.page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")

    # -- the countdown widget ------------------------------------------------------------------

    @property
    def widget(self) -> Any:
        return self.page.locator(COUNTDOWN).first

    def wait_widget(self, timeout: float = 30.0) -> None:
        """Until the countdown shows a time (not "checking the lease…")."""
        self.widget.wait_for(state="visible", timeout=timeout * 1000)
        self.page.wait_for_function(
            f"""() => {{
              const t = document.querySelector("{COUNTDOWN} .jl-time");
              return t && !t.hidden && /\\d/.test(t.textContent);
            }}""",
            timeout=timeout * 1000,
            polling=100,
        )

    def state(self) -> Dict[str, Any]:
        """What the widget shows now, read in one go."""
        return self.page.evaluate(
            f"""() => {{
              const root = document.querySelector("{COUNTDOWN}");
              if (!root) return null;
              const text = (sel) => {{
                const el = root.querySelector(sel);
                return el && !el.hidden ? el.textContent : "";
              }};
              return {{
                time: text(".jl-time"),
                label: text(".jl-label"),
                banner: text(".jl-banner"),
                message: text(".jl-message"),
                error: text(".jl-error"),
                stage: root.dataset.stage,
                source: root.dataset.source,
                accent: getComputedStyle(root).borderLeftColor,
                timeColor: getComputedStyle(root.querySelector(".jl-time")).color,
                title: document.title,
              }};
            }}"""
        )

    def seconds_left(self) -> Optional[float]:
        state = self.state()
        return None if state is None else parse_countdown(state["time"])

    def screenshot(self, name: str, *, full_page: bool = False) -> Optional[Path]:
        """Save a PNG into ``$JUPYTER_LEASE_SCREENSHOTS`` when it is set."""
        directory = screenshot_dir()
        if directory is None:
            return None
        path = directory / name
        if full_page:
            # The notebook, not the file browser or a screen of empty space.
            if self.server.app == "lab":
                self.page.evaluate("() => window.jupyterapp.shell.collapseLeft()")
            size = self.page.viewport_size
            self.page.set_viewport_size({"width": size["width"], "height": 480})
            self.page.wait_for_timeout(400)
            # Without JupyterLab's status bar: its kernel state follows the widget messages'
            # subshell and reads "Idle" while the cell runs.
            box = self.page.locator("#jp-bottom-panel, .jp-StatusBar-Widget").first.bounding_box()
            height = box["y"] if box and box["y"] > 100 else 480
            clip = {"x": 0, "y": 0, "width": size["width"], "height": height}
            self.page.screenshot(path=str(path), clip=clip)
            self.page.set_viewport_size(size)
        else:
            self.widget.screenshot(path=str(path), animations="disabled")
        return path
