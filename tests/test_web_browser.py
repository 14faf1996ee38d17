"""The status page in a real headless browser (Debian's chromium + chromium-driver, through Selenium)
against a real daemon on the demo clip: it loads, the mood and the plot update live, every control
changes the daemon and comes back in the page, and a restarted daemon is reconnected to.

One browser session serves every test of this module (they run in order). Set SOULSYNC_SCREENSHOT to a
path to keep the page's screenshot (docs/status-page.png is made so).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
MISSING = ("needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver) "
           "and selenium")

try:
    from selenium import webdriver
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select, WebDriverWait
except ImportError:  # pragma: no cover - the test extra has it
    pytest.skip(MISSING, allow_module_level=True)

if not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)):
    pytest.skip(MISSING, allow_module_level=True)

WAIT_S = 30.0  # the demo clip changes mood every ~8 s; a slow shared machine gets slack


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def demo_clip() -> Path:
    """build/demo/sample.avi, rendered as `make demo` does when missing."""
    clip = ROOT / "build" / "demo" / "sample.avi"
    if not clip.exists():
        subprocess.run([sys.executable, str(ROOT / "tools" / "make_sample.py"), "render", "--out", str(clip)],
                       check=True, timeout=120, capture_output=True)
    return clip


class Daemon:
    """`soulsyncd run` on the demo clip (looping) with the page on a free loopback port."""

    def __init__(self, work: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config = work / "soulsync.yaml"
        # track_s long: a track changes only on a skip or a new decision, so "skip" is seen to work.
        self.config.write_text(
            f"camera:\n  kind: file\n  path: {demo_clip()}\n  loop: true\n  pace: realtime\n"
            f"player:\n  kind: dry-run\n  track_s: 600\n"
            f"policy:\n  mode: shift\n  target: happy\n"
            f"engine:\n  import_csv: {ROOT / 'config' / 'sample_catalog.csv'}\n"
            f"state:\n  dir: {work / 'state'}\n"
            f"web:\n  enabled: true\n  port: {self.port}\n")
        self.log = work / "daemon.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            command = [sys.executable, "-m", "soulsyncd", "run", "--config", str(self.config)]
            self.process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=log)
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()
            try:
                if requests.get(self.url + "/api/state", timeout=1).ok:
                    return
            except requests.ConnectionError:
                time.sleep(0.1)  # the port is not open yet; nothing to wait on but the clock
        pytest.fail(f"the page never came up:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(10)
        self.process = None

    def state(self) -> dict[str, Any]:
        body: dict[str, Any] = requests.get(self.url + "/api/state", timeout=5).json()["state"]
        return body


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    running = Daemon(tmp_path_factory.mktemp("web-browser"))
    running.start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def browser(daemon: Daemon) -> Iterator[Any]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,1500", "--hide-scrollbars"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.get(daemon.url + "/")
    yield driver
    driver.quit()


def until(driver: Any, condition: Callable[[Any], Any], message: str, timeout: float = WAIT_S) -> Any:
    # The page replaces parts of itself on every update (the plot's SVG, the event list): an element
    # found a moment ago may be gone when it is read, which only means "look again".
    return WebDriverWait(driver, timeout, poll_frequency=0.1,
                         ignored_exceptions=(StaleElementReferenceException,)).until(condition, message)


def text(driver: Any, element_id: str) -> str:
    value: str = driver.find_element(By.ID, element_id).text
    return value


def mood(driver: Any) -> str | None:
    value: str | None = driver.find_element(By.ID, "mood").get_attribute("data-mood")
    return None if value in (None, "unknown") else value


def plot_label(driver: Any) -> str:
    label: str | None = driver.find_element(By.CSS_SELECTOR, "#plot svg").get_attribute("aria-label")
    return label or ""


def daemon_until(daemon: Daemon, condition: Callable[[dict[str, Any]], bool], message: str) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        state = daemon.state()
        if condition(state):
            return state
    pytest.fail(message)


def test_the_page_loads_and_the_mood_and_plot_update_live(browser: Any, daemon: Daemon) -> None:
    until(browser, lambda d: text(d, "live") == "live", "the live stream never opened")
    first = until(browser, mood, "no mood shown")
    changed = until(browser, lambda d: (m := mood(d)) != first and m, f"the mood never changed from {first}")
    until(browser, lambda d: d.find_elements(By.CSS_SELECTOR, f'#plot rect.mood-band[data-mood="{changed}"]'),
          f"the plot never showed {changed}")
    until(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#plot g.track"), "no track mark on the plot")
    until(browser, lambda d: d.find_element(By.ID, "frame").get_attribute("data-boxes") == "1",
          "the framing check never drew the face box")
    assert text(browser, "brightness").endswith("of 255")
    assert text(browser, "fps")[0].isdigit()
    assert browser.find_elements(By.CSS_SELECTOR, "#events li")
    browser.find_element(By.ID, "range-today").click()
    until(browser, lambda d: "today" in plot_label(d), "the today plot never loaded")
    browser.find_element(By.ID, "range-hour").click()
    shot = os.environ.get("SOULSYNC_SCREENSHOT")
    if shot:
        until(browser, lambda d: "hour" in plot_label(d), "the hour plot never came back")
        browser.save_screenshot(shot)
    logs = browser.get_log("browser") if hasattr(browser, "get_log") else []
    assert not [entry for entry in logs if entry.get("level") == "SEVERE"], logs  # no CSP violation, no error


def test_every_control_changes_the_daemon_and_comes_back(browser: Any, daemon: Daemon) -> None:
    Select(browser.find_element(By.ID, "mode")).select_by_value("match")
    daemon_until(daemon, lambda s: s["mode"] == "match", "mode never reached the daemon")
    until(browser, lambda d: text(d, "mode-text").startswith("match"), "mode never came back")

    Select(browser.find_element(By.ID, "target")).select_by_value("calm")
    daemon_until(daemon, lambda s: s["target"] == "calm", "target never reached the daemon")
    Select(browser.find_element(By.ID, "mode")).select_by_value("shift")
    until(browser, lambda d: text(d, "mode-text") == "shift toward calm", "target never came back")

    browser.find_element(By.ID, "pause").click()
    daemon_until(daemon, lambda s: s["paused"], "pause never reached the daemon")
    until(browser, lambda d: text(d, "pause") == "Resume", "pause never came back")
    browser.find_element(By.ID, "pause").click()
    daemon_until(daemon, lambda s: not s["paused"], "resume never reached the daemon")
    until(browser, lambda d: text(d, "pause") == "Pause", "resume never came back")

    now = daemon_until(daemon, lambda s: s["playing"] is not None, "nothing ever played")
    playing = now["playing"]["title"]
    browser.find_element(By.ID, "skip").click()
    title = daemon_until(daemon, lambda s: s["playing"] is not None and s["playing"]["title"] != playing,
                         "skip never reached the daemon")["playing"]["title"]
    until(browser, lambda d: text(d, "track") == title, "the skipped-to track never came back")

    browser.find_element(By.ID, "camera-switch").click()
    daemon_until(daemon, lambda s: s["camera"]["status"] == "disabled",
                 "the privacy switch never reached the daemon")
    until(browser, lambda d: text(d, "camera-switch") == "Camera on", "the privacy switch never came back")
    assert text(browser, "camera").startswith("disabled")
    until(browser, lambda d: d.find_element(By.ID, "frame").get_attribute("data-boxes") == "0",
          "face boxes stayed with the camera off")
    browser.find_element(By.ID, "camera-switch").click()
    daemon_until(daemon, lambda s: s["camera"]["status"] != "disabled", "camera on never reached the daemon")
    until(browser, lambda d: text(d, "camera-switch") == "Camera off", "camera on never came back")

    volume = browser.find_element(By.ID, "volume")
    volume.send_keys(Keys.HOME)
    daemon_until(daemon, lambda s: s["player"]["volume"] == 0, "volume never reached the daemon")
    until(browser, lambda d: text(d, "volume-text") == "0", "volume never came back")
    volume.send_keys(Keys.END)
    daemon_until(daemon, lambda s: s["player"]["volume"] == 100, "volume never reached the daemon")

    speaker = browser.find_element(By.ID, "speaker")
    speaker.clear()
    speaker.send_keys("Kitchen")
    browser.find_element(By.ID, "speaker-set").click()
    daemon_until(daemon, lambda s: s["player"]["device"] == "Kitchen", "the speaker never reached the daemon")
    until(browser, lambda d: text(d, "device") == "Kitchen", "the speaker never came back")


def test_a_restarted_daemon_is_reconnected_to(browser: Any, daemon: Daemon) -> None:
    until(browser, lambda d: text(d, "live") == "live", "not live before the restart")
    daemon.stop()
    until(browser, lambda d: text(d, "live") != "live", "the page never noticed the daemon was gone")
    daemon.start()
    until(browser, lambda d: text(d, "live") == "live", "the page never reconnected")
    # The new daemon's figures, not the old ones: uptime starts again and the mood comes back.
    until(browser, lambda d: text(d, "uptime").endswith(" s") and "min" not in text(d, "uptime"),
          "the uptime is not the new daemon's")
    until(browser, mood, "no mood after the reconnect")
    Select(browser.find_element(By.ID, "mode")).select_by_value("match")  # and its controls work
    daemon_until(daemon, lambda s: s["mode"] == "match", "a control after the reconnect did not work")
