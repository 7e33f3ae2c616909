"""Save a screenshot of ``vidstyle app`` to docs/app.png (shown in README).

Starts the app on a free local port, opens it in Debian's headless Chromium
(Playwright, no browser download), picks the bundled demo clip and the candy
style, previews the first frame, stylizes the clip, and photographs the page.
Needs ``pip install -e ".[app,test]"`` and ``apt-get install chromium``.

    python scripts/app_screenshot.py [-o docs/app.png]
"""

from __future__ import annotations

import argparse
import socket
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from vidstyle.app import AppConfig, start_app

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("-o", "--output", default=str(REPO / "docs" / "app.png"))
    p.add_argument("--style", default="candy", help="gallery tile to pick")
    args = p.parse_args()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with tempfile.TemporaryDirectory() as tmp:
        app = start_app(AppConfig(port=port, styles_dir=Path(tmp) / "styles", temp_parent=Path(tmp)))
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch_persistent_context(
                    Path(tmp) / "profile", executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                    viewport={"width": 1280, "height": 900})
                page = browser.new_page()
                page.goto(app.url)
                page.wait_for_selector("#run", timeout=600_000)
                page.click("#demo-clip")
                page.locator("#input-info").get_by_text("demo.mp4").wait_for(timeout=600_000)
                page.locator("#styles").get_by_text(args.style, exact=True).click()
                page.click("#preview")
                page.locator("#preview-out img").wait_for(timeout=600_000)
                page.click("#run")
                page.locator("#run-status").get_by_text(f"demo.{args.style}.mp4").wait_for(timeout=600_000)
                page.locator("#flicker img").wait_for(timeout=600_000)
                page.wait_for_timeout(1500)  # let the players draw their first frame
                page.screenshot(path=args.output, full_page=True)
                browser.close()
        finally:
            app.close()
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
