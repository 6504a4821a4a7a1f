"""The web page in Debian's Chromium (Playwright), against `fallwatch serve` started as a
real server on loopback: enter a token, filter, open an event, play its annotated clip."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.service.conftest import ROOT, Analyzed, Site, build_site, free_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


class Server:
    def __init__(self, site: Site, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}"
        env = dict(os.environ, FALLWATCH_HOME=str(site.home))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pipelines.cli", "serve", "--data", str(site.data),
             "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.stderr: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr.append(line)

    def wait_ready(self, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("fallwatch serve exited: " + "".join(self.stderr))
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError("fallwatch serve did not answer /healthz: " + "".join(self.stderr))

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory,
           analyzed: Analyzed) -> Iterator[tuple[Site, Server]]:
    site = build_site(tmp_path_factory.mktemp("page"), analyzed, admin=False)
    server = Server(site, free_port())
    try:
        server.wait_ready()
        yield site, server
    finally:
        server.stop()
        site.store.close()


@pytest.fixture(scope="module")
def browser_page(served: tuple[Site, Server]) -> Iterator[Page]:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(30_000)
            yield page
        finally:
            browser.close()


def test_first_start_without_admin_says_how_to_make_one(served: tuple[Site, Server]) -> None:
    site, server = served
    text = "".join(server.stderr)
    assert "no admin API token exists yet" in text
    assert f"fallwatch token create --data {site.data} --role admin" in text


def test_filter_open_and_play(served: tuple[Site, Server], browser_page: Page) -> None:
    site, server = served
    page = browser_page
    page.goto(server.url + "/")
    expect(page.locator("#login")).to_be_visible()
    page.fill("#token-input", site.tokens["investigator"])
    page.click("#token-save")
    cards = page.locator(".event-card")
    expect(cards).to_have_count(6)
    expect(page.locator("#whoami")).to_contain_text("investigator")
    # the token lives in sessionStorage, not in any URL
    assert page.evaluate("sessionStorage.getItem('fallwatch.token')") == \
        site.tokens["investigator"]
    assert site.tokens["investigator"] not in page.url
    # the real event's thumbnail loads (a blob fetched with the token)
    thumb = page.locator(f'a[data-event="{site.real_id}"] img')
    page.wait_for_function("img => img.complete && img.naturalWidth > 0",
                           arg=thumb.element_handle())

    page.fill("#filter-camera", "tower-2")
    page.fill("#filter-min-score", "0.5")
    page.click("#filter-apply")
    expect(cards).to_have_count(2)
    expect(page.locator("#list-count")).to_contain_text("of 2")
    page.click("#filter-clear")
    expect(cards).to_have_count(6)
    page.fill("#filter-camera", "day_7_0000")
    page.click("#filter-apply")
    expect(cards).to_have_count(1)

    page.click(f'a[data-event="{site.real_id}"]')
    expect(page.locator("#event")).to_be_visible()
    ev = site.store.get_event(site.real_id)
    assert ev is not None and ev.floor is not None
    expect(page.locator("#floor")).to_have_text(str(ev.floor))
    # the trajectory is drawn over the snapshot: one SVG point per trajectory row
    page.wait_for_selector("#trajectory polyline")
    n_points = page.evaluate(
        "document.querySelector('#trajectory polyline').points.numberOfItems")
    assert n_points == len(ev.trajectory)
    assert page.evaluate("document.querySelector('#trajectory svg').getAttribute('viewBox')") \
        == "0 0 1920 1080"
    # an investigator gets the evidence downloads and the export
    expect(page.locator("#downloads button.download")).to_have_count(5)
    files = page.locator("#downloads button.download").evaluate_all(
        "bs => bs.map(b => b.dataset.file)")
    assert set(files) == {"original.mp4", "annotated.mp4", "snapshot.jpg", "manifest.json",
                          "export"}
    # the annotated clip plays
    page.evaluate("document.getElementById('event-video').play()")
    page.wait_for_function(
        "() => { const v = document.getElementById('event-video');"
        " return v.dataset.played === '1' && v.currentTime > 0; }")
    assert page.evaluate("document.getElementById('event-video').error") is None


def test_a_viewer_gets_no_downloads(served: tuple[Site, Server], browser_page: Page) -> None:
    site, server = served
    page = browser_page
    page.goto(server.url + "/")
    page.evaluate("sessionStorage.clear()")
    page.goto(f"{server.url}/#/event/{site.real_id}")
    page.reload()
    page.fill("#token-input", site.tokens["viewer"])
    page.click("#token-save")
    expect(page.locator("#event-title")).to_contain_text(site.real_id)
    expect(page.locator("#whoami")).to_contain_text("viewer")
    page.wait_for_function(
        "() => document.getElementById('event-video').readyState >= 1")
    expect(page.locator("#downloads button")).to_have_count(0)


def test_a_revoked_token_is_sent_back_to_the_login(served: tuple[Site, Server],
                                                   browser_page: Page) -> None:
    site, server = served
    page = browser_page
    page.goto(server.url + "/")
    page.evaluate("sessionStorage.clear()")
    page.reload()
    page.fill("#token-input", site.revoked)
    page.click("#token-save")
    expect(page.locator("#login-error")).to_contain_text("refused")
    expect(page.locator("#list")).to_be_hidden()
