"""The Sessions panel in a real browser: Debian's chromium driven by Playwright (never `playwright install`).

The page is opened on a `serve` process; records land from separate `sessionstats` processes and the page must
show them without a reload; every figure is checked against `show --format json` formatted by the CLI's rules.
A screenshot is kept in tests/artifacts/ (git-ignored).
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import fields
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from serve_helpers import serving

from sessionstats.cli.stats_view import METRICS, OVERVIEW, _figure
from sessionstats.reports.stats import SessionStats

pytestmark = [pytest.mark.file_only, pytest.mark.slow]
ARTIFACTS = Path(__file__).parent / "artifacts"
LIVE_MS = 2000  # a record must show within two seconds, without a reload


def chromium_path() -> str:
    """The system's chromium (CI installs Debian's package); skip visibly when there is none."""
    found = os.environ.get("SESSIONSTATS_TEST_CHROMIUM") or shutil.which("chromium") or shutil.which(
        "chromium-browser")
    if not found:
        pytest.skip("no chromium on this machine (CI installs Debian's 'chromium' package; .ci/run)")
    return found


@pytest.fixture
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed")
    executable = chromium_path()
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=["--disable-gpu"])
        try:
            yield launched
        finally:
            launched.close()


def stats_from_show(run_process, session_id: str) -> SessionStats:
    """`show --format json` read back into the figures the CLI formats (costs exact, times aware UTC)."""
    text = run_process("show", session_id, "--format", "json", "--tz", "UTC").stdout
    plain, exact = json.loads(text), json.loads(text, parse_float=Decimal)
    values = {}
    for field in fields(SessionStats):
        value = plain[field.name]
        if "Decimal" in str(field.type):
            value = exact[field.name] if value is None else Decimal(str(exact[field.name]))
        elif "datetime" in str(field.type) and value is not None:
            value = datetime.fromisoformat(value).astimezone(UTC)
        values[field.name] = value
    return SessionStats(**values)


def figures_on_page(page) -> dict[str, str]:
    cells = page.locator("#overview td[data-figure], #metrics td[data-figure]")
    return {f"{table}:{key}": text for table, key, text in cells.evaluate_all(
        "cells => cells.map(c => [c.closest('table').id, c.dataset.figure, c.textContent])")}


def expected_figures(stats: SessionStats) -> dict[str, str]:
    return {f"{table}:{key}": _figure(stats, key, shown, UTC)
            for table, rows in (("overview", OVERVIEW), ("metrics", METRICS)) for _, key, shown in rows}


def new_session(run_process, name: str) -> str:
    made = run_process("new", name)
    assert made.returncode == 0, made.stderr
    return made.stdout.strip()


def test_the_panel_fills_up_live_switches_sessions_and_formats_every_figure_as_show(db, run_process, browser):
    quiet = new_session(run_process, "Quiet session")
    for tokens in (("--input", "1234567", "--output", "89", "--cost", "0.00125"),
                   ("--input", "10", "--output", "5", "--model", "no-such-model-x")):
        assert run_process("record-tokens", "--session", quiet, *tokens).returncode == 0
    live = new_session(run_process, "Friday broadcast")
    with serving(str(db)) as url:
        page = browser.new_page(viewport={"width": 1280, "height": 900}, timezone_id="UTC")
        page.goto(f"{url}#/session/{live}")
        page.wait_for_selector(f"body[data-loaded='{live}']", timeout=10_000)
        assert figures_on_page(page) == expected_figures(stats_from_show(run_process, live))  # a new session: zero
        assert page.locator("#metrics td[data-figure='total_cost']").text_content() == "$0.0000"
        assert page.locator("#metrics td[data-figure='tokens_per_story']").text_content() == "-"

        story = run_process("record-story", "--session", live, "--title", "Storm", "--narrative", "wind and rain")
        tokens = run_process("record-tokens", "--session", live, "--input", "1200", "--output", "350",
                             "--cost", "0.0089", "--story", story.stdout.strip())
        assert story.returncode == tokens.returncode == 0
        page.wait_for_function("() => document.querySelector(\"#metrics td[data-figure='total_tokens']\")"
                               ".textContent === '1,550'", timeout=LIVE_MS)
        page.wait_for_function("() => document.querySelector(\"#metrics td[data-figure='story_count']\")"
                               ".textContent === '1'", timeout=LIVE_MS)
        assert page.locator("#metrics td.changed[data-figure='total_tokens']").count() == 1  # marked as changed
        assert page.locator("#metrics td[data-delta='total_tokens']").text_content() == "+1,550"  # as show --watch
        assert figures_on_page(page) == expected_figures(stats_from_show(run_process, live))
        assert page.locator("#stories tbody tr").first.text_content().count("Storm") == 1
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "panel.png"), full_page=False)

        page.locator("#sessions th button[data-sort='total_tokens']").click()  # sortable: most tokens first
        assert page.locator("#sessions tbody tr").first.get_attribute("data-session") == quiet
        assert page.locator("#sessions th[aria-sort='descending'] button").text_content() == "Tokens"
        page.locator("#filter").fill("quiet")
        assert page.locator("#sessions tbody tr").count() == 1
        page.locator("#sessions tbody a").first.focus()
        page.keyboard.press("Enter")  # keyboard only
        page.wait_for_selector(f"body[data-loaded='{quiet}']", timeout=10_000)
        assert page.url.endswith(f"#/session/{quiet}")
        shown = figures_on_page(page)
        assert shown == expected_figures(stats_from_show(run_process, quiet))
        assert shown["metrics:total_tokens"] == "1,234,671"
        assert shown["metrics:total_cost"] == "$0.0013 + 1 unpriced call"  # 0.00125 half-up; one call unpriced

        page.reload()  # the URL names the session
        page.wait_for_selector(f"body[data-loaded='{quiet}']", timeout=10_000)
        page.set_viewport_size({"width": 390, "height": 844})  # a phone: nothing wider than the screen
        assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_costs_are_rounded_from_their_exact_decimal_strings(db, browser):
    with serving(str(db)) as url:
        page = browser.new_page()
        page.goto(url)
        page.wait_for_selector("#live")
        cases = {"0.00125": "$0.0013", "0.00005": "$0.0001", "0.000049999999999": "$0.0000", "-0.00004": "$0.0000",
                 "1234567.99995": "$1,234,568.0000", "0.000000075": "$0.0000", "-1.23455": "-$1.2346",
                 "9007199254740993.00005": "$9,007,199,254,740,993.0001"}
        got = page.evaluate("cases => Object.fromEntries(Object.keys(cases).map(c => [c, fmtCost(c)]))", cases)
        assert got == cases
        numbers = page.evaluate("[fmtNumber(2.5, 0), fmtNumber(0.125, 2), fmtNumber(1234.56, 1), fmtNumber(null, 1),"
                                " fmtTokens(1234567), fmtDuration(3725), fmtDelta('0.0089', '0.00890075', 'cost'),"
                                " fmtDelta('1.5', '0.25', 'cost'), fmtDelta(10, 1560, 'count'),"
                                " fmtDelta(0, 1550, 'number'), fmtDelta(null, 'x', 'other')]")
        assert numbers == [f"{2.5:,.0f}", f"{0.125:,.2f}", "1,234.6", "-", "1,234,567", "01:02:05", "+$0.0000",
                           "-$1.2500", "+1,550", "+1,550.0", "changed"]


def test_a_session_whose_id_holds_a_slash_opens_from_the_list_and_a_malformed_hash_leaves_the_page_working(
        db, run_process, browser):
    made = run_process("record-tokens", "-s", "feature/login", "--create", "--input", "1200", "--output", "350",
                       "--cost", "0.0089")
    assert made.returncode == 0, made.stderr
    with serving(str(db)) as url:
        page = browser.new_page(timezone_id="UTC")
        page.goto(f"{url}#/session/%ff")  # a hand-typed hash no id decodes from
        page.wait_for_selector("#sessions tbody tr[data-session='feature/login']", timeout=10_000)
        assert page.locator("#pick").is_visible()
        page.locator("#sessions tbody a").first.click()
        page.wait_for_selector("body[data-loaded='feature/login']", timeout=10_000)
        assert page.url.endswith("#/session/feature%2Flogin")
        assert page.locator("#metrics td[data-figure='total_tokens']").text_content() == "1,550"
        assert page.locator("#metrics td[data-figure='total_cost']").text_content() == "$0.0089"
