"""What a person sees: Debian's chromium (headless, driven by Selenium) against a real
``citewire serve`` on 127.0.0.1. It asks a question, opens a citation, follows it to the stored
article, and checks that a hostile article runs nothing.

``CITEWIRE_SCREENSHOTS=docs/screenshots python3 -m pytest tests/test_web_browser.py`` also saves
screenshots of the main pages there (the ones committed in docs/screenshots were made so).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from citewire.embed import OnnxEmbedder
from tests.support.webserver import CitewireServer
from tests.test_web import FUEL_QUESTION, HOSTILE_QUESTION, TOKEN, build_home

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is a dev dependency")
if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
    pytest.skip(
        "Debian's chromium and chromium-driver are not installed (./install.sh installs them)",
        allow_module_level=True,
    )

from selenium.common.exceptions import NoAlertPresentException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.support import expected_conditions  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, embedder: OnnxEmbedder) -> Iterator[str]:
    home = build_home(tmp_path_factory.mktemp("browser") / "home", embedder)
    with CitewireServer(home, token=TOKEN) as running:
        yield running.url("").rstrip("/")


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1100,900",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def screenshot(browser: WebDriver, name: str) -> None:
    folder = os.environ.get("CITEWIRE_SCREENSHOTS")
    if not folder:
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1100, min(max(int(height), 600), 1600))
    browser.save_screenshot(str(Path(folder) / f"{name}.png"))
    browser.set_window_size(1100, 900)


def assert_no_alert(browser: WebDriver) -> None:
    try:
        text = browser.switch_to.alert.text
    except NoAlertPresentException:
        return
    raise AssertionError(f"a script ran and opened an alert: {text!r}")


def test_ask_open_a_citation_and_follow_it(server: str, browser: WebDriver) -> None:
    wait = WebDriverWait(browser, 60)
    browser.get(server + "/")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Ask the news"
    browser.find_element(By.ID, "question").send_keys(FUEL_QUESTION)
    screenshot(browser, "home")
    browser.find_element(By.CSS_SELECTOR, "form.ask button[type=submit]").click()
    wait.until(expected_conditions.url_contains("/questions/"))
    assert browser.find_element(By.TAG_NAME, "h1").text == FUEL_QUESTION
    assert "sources disagree" in browser.find_element(By.TAG_NAME, "main").text.lower()

    first = browser.find_elements(By.CSS_SELECTOR, "details.cite")[0]
    passage = first.find_element(By.CSS_SELECTOR, ".passage")
    assert not passage.is_displayed()  # closed until the reader asks for it
    first.find_element(By.TAG_NAME, "summary").click()
    wait.until(lambda _: passage.is_displayed())
    quote = passage.find_element(By.TAG_NAME, "q").text
    source_line = passage.find_element(By.CSS_SELECTOR, ".src").text
    assert "per cent" in quote
    assert any(o in source_line for o in ("Southern Courier", "Capital Ledger", "Meridian Wire"))
    assert "2026-04-0" in source_line
    support = browser.find_elements(By.CSS_SELECTOR, ".support.ok")
    assert support and support[0].text.startswith("✓")
    screenshot(browser, "question")

    passage.find_element(By.LINK_TEXT, "in the stored article").click()
    wait.until(expected_conditions.url_contains("/sources/"))
    marks = [m.text for m in browser.find_elements(By.TAG_NAME, "mark")]
    assert any(quote.strip('“”"') in m for m in marks), (quote, marks)
    assert "Answers that cite it" in browser.find_element(By.TAG_NAME, "main").text
    screenshot(browser, "source")


def test_hostile_article_runs_nothing(server: str, browser: WebDriver) -> None:
    wait = WebDriverWait(browser, 60)
    browser.get(server + "/")
    browser.find_element(By.ID, "question").send_keys(HOSTILE_QUESTION)
    browser.find_element(By.CSS_SELECTOR, "form.ask button[type=submit]").click()
    wait.until(expected_conditions.url_contains("/questions/"))
    assert_no_alert(browser)
    browser.find_element(By.CSS_SELECTOR, "ol.refs a").click()
    wait.until(expected_conditions.url_contains("/sources/"))
    assert_no_alert(browser)
    heading = browser.find_element(By.TAG_NAME, "h1").text
    assert heading.startswith('<script>alert("title")</script>')  # shown as text
    assert browser.find_elements(By.CSS_SELECTOR, "main img") == []
    assert browser.find_elements(By.CSS_SELECTOR, "main a[onclick]") == []


def test_search_and_audit_pages(server: str, browser: WebDriver) -> None:
    wait = WebDriverWait(browser, 60)
    browser.get(server + "/search?q=fuel+imports+blockade&since=2026-04-01")
    hits = browser.find_elements(By.CSS_SELECTOR, "ol.hits > li")
    assert hits and browser.find_elements(By.CSS_SELECTOR, "ol.hits mark")
    screenshot(browser, "search")

    browser.get(server + "/audit")
    browser.find_element(By.ID, "text").send_keys(
        "Why did Veloria refuse a temporary ceasefire?\n\n"
        "Veloria's foreign ministry said it would not accept a temporary ceasefire with the "
        "Northern Alliance. The blockade had cut fuel imports by 90 per cent since June.\n"
    )
    browser.find_element(By.CSS_SELECTOR, "form.audit button[type=submit]").click()
    wait.until(expected_conditions.url_contains("/audits/"))
    badges = [b.text.lower() for b in browser.find_elements(By.CSS_SELECTOR, ".claim .badge")]
    assert "supported" in badges and "contradicted" in badges, badges
    screenshot(browser, "audit")


def test_chromium_is_the_debian_build() -> None:
    # Guard against a silently different browser on PATH: the tests above use these paths.
    assert shutil.which("chromium") == CHROMIUM
