"""End to end: ``vidstyle app`` in a real headless Chromium, driven by Playwright.

Starts the command on a free local port, uploads a generated 1-second clip with
audio, picks candy with the lite network, runs it, downloads the result through
the page's link and checks it with PyAV; uploads a text file renamed .mp4 and
reads the error on the page; streams Chromium's synthetic camera through the
webcam tab; checks the page fetched nothing from outside 127.0.0.1 and that the
app's temporary folder is gone after SIGTERM.

Needs Gradio (``pip install "vidstyle[app]"``), Playwright (test extra) and
Debian's Chromium at /usr/bin/chromium (``apt-get install chromium``; .ci/run
installs it); without them the module is skipped with the reason.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from fractions import Fraction
from pathlib import Path

import av
import pytest
from videogen import write_clip

CHROMIUM = Path("/usr/bin/chromium")
# Flags for a closed network: without the background-networking ones Chromium keeps
# trying to reach Google's services.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 # a synthetic camera (a moving test pattern), granted without asking
                 "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]


def _missing() -> str | None:
    if importlib.util.find_spec("gradio") is None:
        return 'Gradio is not installed (pip install "vidstyle[app]")'
    if importlib.util.find_spec("playwright") is None:
        return "Playwright is not installed (pip install playwright)"
    if not os.access(CHROMIUM, os.X_OK):
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    return None


pytestmark = pytest.mark.skipif(_missing() is not None, reason=f"browser test skipped: {_missing()}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    """``vidstyle app`` in a child process; yields its URL; SIGTERM afterwards, and the
    app's temporary folder (in a private TMPDIR) must be gone."""
    root = tmp_path_factory.mktemp("app")
    tmp = root / "tmp"
    tmp.mkdir()
    port = _free_port()
    env = dict(os.environ, TMPDIR=str(tmp))
    log = open(root / "app.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "vidstyle.cli", "app", "--port", str(port),
         "--styles-dir", str(root / "styles"), "--max-upload-mb", "20"],
        stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 180
    while True:
        try:
            urllib.request.urlopen(url, timeout=5).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"the app did not start: {(root / 'app.log').read_text()[-2000:]}")
            time.sleep(0.5)
    assert any(p.name.startswith("vidstyle-app-") for p in tmp.iterdir())
    yield url
    proc.send_signal(signal.SIGTERM)
    try:
        # 0 (Ctrl-C path) or 143 (the CLI's SIGTERM exit code): it ended by itself, cleaning up
        assert proc.wait(60) in (0, 143), (root / "app.log").read_text()[-2000:]
    finally:
        if proc.poll() is None:
            proc.kill()
        log.close()
    # (onnxruntime leaves a small .ses file in TMPDIR whatever runs it; not the app's)
    left = [p.name for p in tmp.iterdir() if p.name != ".ses"]
    assert not left, f"the app left {left} in the temporary folder"


@pytest.fixture()
def page(app_url, tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch_persistent_context(
            tmp_path / "profile", executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
            accept_downloads=True, viewport={"width": 1280, "height": 1000})
        browser.grant_permissions(["camera"])
        pg = browser.new_page()
        outside: list[str] = []
        pg.on("request", lambda r: outside.append(r.url)
              if not r.url.startswith(("http://127.0.0.1", "data:", "blob:")) else None)
        pg.goto(app_url)
        pg.wait_for_selector("#run")
        yield pg
        browser.close()
        assert not outside, f"the page fetched from outside 127.0.0.1: {outside[:5]}"


def test_stylize_a_clip_in_the_browser(page, tmp_path):
    clip = write_clip(tmp_path / "clip.mp4", width=96, height=64, fps=25, n_frames=25, audio=True)
    page.locator("#upload input[type=file]").set_input_files(str(clip.path))
    info = page.locator("#input-info")
    info.get_by_text("25 frames").wait_for(timeout=60_000)
    assert "with audio" in info.inner_text()

    for name in ("mosaic", "candy"):  # candy is the first tile: pick another one first
        page.locator("#styles").get_by_text(name, exact=True).click()
        page.locator("#style-name").get_by_text(name).wait_for()
    page.locator("#model-size").get_by_text("lite", exact=True).click()
    page.click("#run")
    page.locator("#run-status").get_by_text("clip.candy-lite.mp4").wait_for(timeout=180_000)
    assert "25 frame(s)" in page.locator("#run-status").inner_text()
    assert page.locator("#flicker img").count() == 1

    with page.expect_download(timeout=60_000) as download:
        page.locator("#download a").first.click()
    out = tmp_path / "downloaded.mp4"
    download.value.save_as(out)
    with av.open(str(out)) as c:
        video = c.streams.video[0]
        assert (video.codec_context.width, video.codec_context.height) == (96, 64)
        assert sum(1 for _ in c.decode(video=0)) == 25
    with av.open(str(out)) as c:
        assert len(c.streams.audio) == 1
        audio = c.streams.audio[0]
        seconds = float(audio.duration * audio.time_base) if audio.duration else \
            float(sum(p.duration or 0 for p in c.demux(audio)) * Fraction(audio.time_base))
        assert abs(seconds - clip.audio_seconds) < 0.1


def test_a_text_file_renamed_mp4_is_refused_on_the_page(page, tmp_path):
    fake = tmp_path / "notes.mp4"
    fake.write_text("these are my notes, not a video\n" * 20)
    page.locator("#upload input[type=file]").set_input_files(str(fake))
    message = page.locator("#input-info").get_by_text("notes.mp4: it is not a video vidstyle can read")
    message.wait_for(timeout=60_000)
    page.click("#run")  # nothing to stylize: the page says so
    page.get_by_text("Upload a video or a photo first").first.wait_for(timeout=30_000)


def test_the_webcam_tab_streams_through_a_lite_model(page):
    page.get_by_role("tab", name="Webcam").click()
    assert page.locator("#cam-style input").input_value().endswith("-lite")
    page.get_by_text("Click to Access Webcam").click()
    page.locator("#cam button", has_text="Record").click()
    page.locator("#cam-out img").wait_for(timeout=120_000)  # a stylized frame came back
