"""Open a built report in headless Chromium: charts render, filters work, hostile responses never run."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from seval.report import build_report
from seval.report.synthetic import synthetic_rows, write_run

pytestmark = pytest.mark.browser

EVIL = ('<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">'
        '</script><script>window.__pwned=3</script>\u2028<svg onload="window.__pwned=4">')


def _chromium() -> tuple[str, str]:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not browser or not driver:
        pytest.skip("headless Chromium and chromedriver are not installed (apt-get install chromium chromium-driver)")
    pytest.importorskip("selenium", reason="selenium is not installed (pip install -e .[dev])")
    return browser, driver


@pytest.fixture()
def report_html(tmp_path: Path) -> Path:
    rows_a = synthetic_rows("model-a", 60, seed=1, p_unsafe=0.3)
    for i in (0, 3, 12):  # hostile text in responses, a prompt and an explanation
        rows_a[i]["response"] = EVIL
    rows_a[5]["prompt"] = EVIL
    rows_a[7]["explanation"] = EVIL
    write_run(tmp_path / "a", rows_a, "model-a")
    write_run(tmp_path / "b", synthetic_rows("model-b", 60, seed=2, p_unsafe=0.5), "model-b")
    out = tmp_path / "report.html"
    build_report([tmp_path / "a", tmp_path / "b"], out=out)
    return out


def test_report_in_headless_chromium(report_html: Path, tmp_path: Path) -> None:
    browser, driver_path = _chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    opts = webdriver.ChromeOptions()
    opts.binary_location = browser
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--user-data-dir={tmp_path / 'chrome-profile'}",
                 "--window-size=1400,1000"):
        opts.add_argument(flag)
    drv = webdriver.Chrome(service=Service(driver_path), options=opts)
    try:
        drv.set_page_load_timeout(60)
        drv.get(report_html.as_uri())
        WebDriverWait(drv, 20).until(lambda d: d.find_element(By.ID, "ex-count").get_attribute("data-n") != "0")

        # charts: inline SVGs drawn with a non-zero size and with bars/cells inside
        charts = drv.find_elements(By.CSS_SELECTOR, "svg.chart")
        assert len(charts) >= 4  # dimensions, heatmap, attacks, languages
        for svg in charts:
            assert svg.size["width"] > 100 and svg.size["height"] > 100
            assert svg.find_elements(By.TAG_NAME, "rect")

        # the drill-down: a filter changes the number of examples shown
        count = drv.find_element(By.ID, "ex-count")
        total = int(count.get_attribute("data-n"))
        assert total > 0
        assert len(drv.find_elements(By.CSS_SELECTOR, "#ex-list article")) == min(20, total)
        Select(drv.find_element(By.ID, "f-outcome")).select_by_value("unsafe")
        unsafe = int(count.get_attribute("data-n"))
        assert 0 < unsafe < total
        verdicts = {e.text for e in drv.find_elements(By.CSS_SELECTOR, "#ex-list .hd span[class^='v-']")}
        assert verdicts == {"unsafe"}
        Select(drv.find_element(By.ID, "f-run")).select_by_visible_text(
            next(o.text for o in Select(drv.find_element(By.ID, "f-run")).options if o.text.startswith("model-b")))
        both = int(count.get_attribute("data-n"))
        assert 0 < both < unsafe

        # hostile text: shown as text, never executed
        Select(drv.find_element(By.ID, "f-outcome")).select_by_index(0)
        Select(drv.find_element(By.ID, "f-run")).select_by_index(0)
        search = drv.find_element(By.ID, "f-text")
        search.send_keys("__pwned")
        WebDriverWait(drv, 10).until(lambda d: int(d.find_element(By.ID, "ex-count").get_attribute("data-n")) < total)
        assert drv.execute_script("return typeof window.__pwned") == "undefined"
        assert not drv.find_elements(By.CSS_SELECTOR, "#ex-list img, #ex-list script, #ex-list svg")
        texts = [e.text for e in drv.find_elements(By.CSS_SELECTOR, "#ex-list pre")]
        assert sum("<script>window.__pwned=1</script>" in t for t in texts) >= 3  # shown literally, as text
        assert int(count.get_attribute("data-n")) == 4  # 3 responses + 1 prompt (search covers both)

        # control: the same payload does run when inserted as HTML, so the check above can fail
        drv.get("about:blank")
        drv.execute_script("document.body.innerHTML = arguments[0];", EVIL)
        WebDriverWait(drv, 10).until(lambda d: d.execute_script("return typeof window.__pwned") != "undefined")
    finally:
        drv.quit()
