"""JupyterLab in Chinese, in Debian's Chromium against the simulator: with
``jupyterlab-language-pack-zh-CN`` installed and ``locale: zh_CN`` chosen (the
``@jupyterlab/translation-extension:plugin`` setting, in this server's private settings dir),
the status item, its panel and the warning toast speak Chinese — the extension's strings through
``translator.load('jupyter_lease')`` (the package's own catalogue, served by jupyterlab_server
through the ``jupyterlab.locale`` entry point), the countdown's words through present.js in the
page's language.
"""

from __future__ import annotations

import json
import secrets
from typing import Any, Callable

import pytest

from jupyter_lease.simulator.app import Simulator
from tests.support.jupyter import JupyterServer
from tests.support.scenarios import LOAD, fresh_lease
from tests.support.status import ITEM, PANEL, wait_item, write_settings

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

CONFIG = 'c.JupyterLease.warn_at = "45m"\n'
ZH_TOAST = "距实例停止还剩"


@pytest.fixture(scope="module")
def server(start_server: Callable[..., JupyterServer]) -> JupyterServer:
    pytest.importorskip("jupyterlab_language_pack_zh_CN")
    chosen = start_server(
        app="lab", token=secrets.token_hex(16), base_url="/user/zh/", config=CONFIG
    )
    folder = chosen.root / "config" / "lab" / "user-settings" / "@jupyterlab"
    folder = folder / "translation-extension"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "plugin.jupyterlab-settings").write_text(json.dumps({"locale": "zh_CN"}))
    write_settings(chosen)
    return chosen


def test_the_item_panel_and_toast_speak_chinese(
    server: JupyterServer, lease_simulator: Simulator, browser_pages: Any
) -> None:
    fresh_lease(server, lease_simulator, 45 * 60 + 15)
    (page,) = browser_pages(server, clock=True)
    assert page.evaluate("() => document.documentElement.lang") == "zh-CN"
    state = wait_item(page, "el.dataset.stage === 'plenty'", timeout=10)
    assert state["text"] in ("⏳ 45 分", "⏳ 46 分"), state  # "45 min" in the page's language
    assert state["tooltip"].startswith("租约：剩余 4"), state
    assert "点击查看详情并延长" in state["tooltip"], state

    page.locator(ITEM).click()
    panel = page.locator(PANEL)
    panel.wait_for(state="visible")
    text = panel.inner_text()
    assert "剩余 4" in text and "停止" in text, text  # the headline and the stop time
    assert panel.locator("button.jp-LeasePanel-button").inner_text() == "延长", text
    assert panel.locator("button.jp-LeasePanel-doctor").inner_text() == "诊断报告", text
    keep_alive = panel.locator(".jp-LeaseKeepAlive")
    keep_alive.wait_for(state="visible")
    assert "忙碌时保持运行" in keep_alive.inner_text()
    assert keep_alive.locator("option").first.inner_text() == "持续 2h"
    page.keyboard.press("Escape")

    page.clock.run_for(16_000)  # past the 45 min threshold on the page's clock
    wait_item(page, "el.dataset.stage === 'warning'", timeout=10)
    page.wait_for_function(
        f"() => [...document.querySelectorAll('.Toastify__toast')]"
        f".some((t) => t.textContent.includes({ZH_TOAST!r}))",
        timeout=10_000,
    )
    toast = page.locator(".Toastify__toast", has_text=ZH_TOAST)
    assert "请保存工作或延长租约" in toast.inner_text()
    assert toast.get_by_role("button", name="延长 1 小时").count() == 1


def test_the_cell_widget_speaks_the_kernels_language(
    server: JupyterServer, lease_simulator: Simulator, open_notebook: Any
) -> None:
    """A kernel in Chinese (``%env LANGUAGE=zh_CN``, as docs/i18n.md says) shows its widget in
    Chinese: the time left, and the view's own words from the catalogue the kernel syncs."""
    fresh_lease(server, lease_simulator, 3 * 3600)
    nb = open_notebook(server, "zh.ipynb", ["%env LANGUAGE=zh_CN\n" + LOAD + "%lease watch"])
    nb.run_cells(1)
    nb.wait_widget()
    state = nb.state()
    assert state["time"] in ("3 小时 00 分", "2 小时 59 分"), state
    widget = nb.widget
    assert widget.get_attribute("aria-label") == "笔记本租约倒计时"
    assert widget.locator("button.jl-extend").text_content() == "延长"
    assert widget.locator(".jl-notify span").text_content() == "通知我"
    assert f"笔记本 {lease_simulator.notebook_id[:8]}" in widget.locator(".jl-meta").text_content()
