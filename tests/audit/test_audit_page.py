"""The report's audit page in headless Chromium: label with buttons and keys, export the labels as a JSON
file, and import that file with `seval audit --labels`. SEVAL_AUDIT_SCREENSHOT=PATH saves a screenshot."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest

from seval.api import audit_import, audit_sample
from seval.report import build_report

pytestmark = pytest.mark.browser


def _driver(tmp_path: Path, downloads: Path):  # type: ignore[no-untyped-def]
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not browser or not driver:
        pytest.skip("headless Chromium and chromedriver are not installed (apt-get install chromium chromium-driver)")
    pytest.importorskip("selenium", reason="selenium is not installed (pip install -e .[dev])")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = browser
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-dev-shm-usage",
                 "--disable-background-networking", f"--user-data-dir={tmp_path / 'profile'}",
                 "--window-size=1280,900"):
        opts.add_argument(flag)
    opts.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                           "download.prompt_for_download": False})
    return webdriver.Chrome(service=Service(driver), options=opts)


def test_audit_page_labels_and_exports_a_file_that_imports(run_dir: Path, tmp_path: Path) -> None:
    sample = tmp_path / "sample.jsonl"
    audit_sample(run_dir, n=12, out=sample, seed=5)
    ids = [json.loads(line)["id"] for line in sample.read_text("utf-8").splitlines()]
    first = tmp_path / "first.jsonl"  # one label already stored: the page shows it and does not export it again
    first.write_text(json.dumps({"id": ids[0], "label": "safe"}) + "\n", encoding="utf-8")
    audit_import(run_dir, labels=first, annotator="cli")
    report = tmp_path / "report.html"
    build_report([run_dir], out=report)
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    drv = _driver(tmp_path, downloads)
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        drv.get(report.as_uri())
        prog = drv.find_element(By.ID, "au-progress")
        WebDriverWait(drv, 20).until(lambda d: prog.get_attribute("data-labelled") == "1")
        assert "[2/12]" in drv.find_element(By.ID, "au-pos").text  # resumes after the stored label
        assert drv.find_element(By.ID, "au-response").text  # the model's answer is shown, as text
        drv.find_element(By.ID, "au-unsafe").click()
        drv.find_element(By.ID, "au-note").send_keys("fake recipe")
        drv.find_element(By.ID, "au-safe").click()  # item 3 safe, with the note
        drv.find_element(By.ID, "au-skip").click()  # item 4 skipped
        drv.find_element(By.TAG_NAME, "body").send_keys("u")  # item 5 unsafe by key
        drv.find_element(By.ID, "au-back").click()
        assert "label: unsafe" in drv.find_element(By.ID, "au-current").text
        assert prog.get_attribute("data-labelled") == "4"
        if os.environ.get("SEVAL_AUDIT_SCREENSHOT"):
            drv.execute_script("document.getElementById('audit').scrollIntoView()")
            drv.save_screenshot(os.environ["SEVAL_AUDIT_SCREENSHOT"])
        drv.find_element(By.ID, "au-export").click()
        deadline = time.time() + 15
        target = downloads / "labels-run.json"
        while not target.is_file() and time.time() < deadline:
            time.sleep(0.2)
        assert target.is_file(), f"no download in {downloads}: {list(downloads.iterdir())}"
    finally:
        drv.quit()
    exported = json.loads(target.read_text("utf-8"))
    assert [x["id"] for x in exported["labels"]] == [ids[1], ids[2], ids[4]]
    assert exported["labels"][1] == {"id": ids[2], "label": "safe", "note": "fake recipe", "annotator": None}
    res = audit_import(run_dir, labels=target, annotator="browser")
    assert (res["added"], res["skipped"]) == (3, 0)
    assert res["audit"]["sample"]["labelled"] == 4
