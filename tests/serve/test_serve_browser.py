"""The web page in a real browser: headless Chromium (Debian's `chromium`) driven by Playwright.

Starts `textrnn serve` on 127.0.0.1 on a free port with the tiny run, types a review, submits,
reads the label and the coloured words from the page, saves a screenshot, and stops the server.
"""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no system Chromium: `apt-get install -y chromium` (.ci/run does)"
)
playwright_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install playwright)"
)

ROOT = Path(__file__).resolve().parents[2]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def server(tiny_run, tmp_path):
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    log = (tmp_path / "server.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "textrnn",
            "serve",
            str(tiny_run),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(url + "health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the server did not start: " + (tmp_path / "server.log").read_text())
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
    assert "POST /explain 200 texts=1" in (tmp_path / "server.log").read_text()  # its one-line log


def test_the_page_classifies_a_typed_review(server, tmp_path):
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 800})
            failed = []
            page.on("requestfailed", lambda r: failed.append(r.url))
            page.goto(server)
            assert page.locator("svg.curve").count() == 2 and page.locator("#metrics").is_visible()
            page.fill("#text", "Wonderful film, excellent acting and a very good plot.")
            page.click("#submit")
            page.wait_for_selector("#result:not([hidden])", timeout=30_000)
            assert page.inner_text("#label") == "pos"
            assert page.locator("#probs .bar").count() == 2
            words = page.locator("#words mark")
            assert words.count() == 9 and words.first.inner_text() == "wonderful"
            assert "rgba(0, 160, 60" in words.first.evaluate("m => getComputedStyle(m).backgroundColor")
            page.screenshot(path=str(tmp_path / "page.png"), full_page=True)

            page.fill("#text", "?!")  # a refused text shows the server's message
            page.click("#submit")
            page.wait_for_function("document.getElementById('error').textContent.length > 0")
            assert "no words" in page.inner_text("#error")
            assert failed == []  # nothing fetched from anywhere failed (the page loads nothing else)

            page.goto(server + "docs")  # Swagger UI, from the package's files, offline
            page.wait_for_selector("#swagger-ui .opblock", timeout=30_000)
            assert "/predict" in page.inner_text("#swagger-ui")
            assert all(u.startswith(server) for u in failed) and not failed
        finally:
            browser.close()
    assert (tmp_path / "page.png").stat().st_size > 10_000
    shot = os.environ.get("TEXTRNN_SCREENSHOT")
    # To look at the page: TEXTRNN_SCREENSHOT=/tmp/page.png pytest tests/serve/test_serve_browser.py
    if shot:
        shutil.copy(tmp_path / "page.png", shot)
