"""End to end in a real headless Chromium, as a product owner would do it: upload a CSV the examples do
not use, accept the proposed schema and personal data, make a typo and see its diagnostic, fix it,
build, download the zip, run, see the gates and the report, send a prediction. The test counts the
user's actions (goal: at most 10, under 5 minutes on a CPU).

``AISPEC_SCREENSHOTS=docs/editor`` keeps the screenshots of the main screens (docs/editor.md shows them).
"""

from __future__ import annotations

import io
import os
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest

from .browser import Actions, caret_after, chromium, chromium_path, editor, settled
from .data import write_loans

pytestmark = pytest.mark.slow

TIMEOUT_MS = 60_000


def _shot(page: Any, name: str, folder: Path) -> None:
    settled(page)  # the screen as the user sees it once the app has drawn it, not mid-update
    page.screenshot(path=str(folder / f"{name}.png"), full_page=False)  # type: ignore[attr-defined]


@pytest.mark.skipif(chromium_path() is None and os.environ.get("CI") != "true", reason="no Chromium installed")
def test_csv_to_trained_gated_served_model(tmp_path: Path) -> None:
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    upload = write_loans(tmp_path / "loan_applications.csv")
    shots = Path(os.environ.get("AISPEC_SCREENSHOTS") or tmp_path / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    act = Actions()
    with editor(workspace) as running, chromium() as browser:
        page = browser.new_page(viewport={"width": 1440, "height": 1000}, accept_downloads=True)
        page.set_default_timeout(TIMEOUT_MS)
        try:
            trained, actions_to_trained, total = _session(page, running.url, workspace, upload, shots, act)
        except Exception:
            page.screenshot(path=str(shots / "failure.png"), full_page=True)  # what the user saw when it failed
            print(f"\nactions so far: {act.done}\npage text when it failed:\n{page.inner_text('body')[-4000:]}")
            raise
    print(f"\nactions to a trained, gated model: {actions_to_trained}; in all: {len(act)}: {act.done}")
    print(f"CSV to trained, gated model: {trained:.0f} s; the whole session: {total:.0f} s")
    assert actions_to_trained <= 10
    assert trained < 300


def _session(page: Any, url: str, workspace: Path, upload: Path, shots: Path, act: Actions) -> tuple[float, int, float]:
    """The user's session; returns (seconds to a trained model, actions until then, seconds in all)."""
    if True:
        began = time.perf_counter()
        page.goto(url)

        # 1. the CSV: its schema, target, task and personal data are proposed
        page.locator("input[type=file]").first.set_input_files(str(upload))
        act("upload loan_applications.csv")
        page.get_by_text("Proposed schema").wait_for()
        page.get_by_text("yes: its name and its values").first.wait_for()
        _shot(page, "start-from-data", shots)
        page.get_by_role("button", name="Create the spec").click()
        act("accept the proposed spec (target, task, personal data)")
        textarea = page.locator("textarea.ais-text")
        textarea.wait_for()
        spec = (workspace / "loan_applications.yaml").read_text(encoding="utf-8")
        assert "pii: [applicant_email, contact]" in spec  # by name, and by values only
        assert "target: approved" in spec and "task: classification" in spec
        assert "mail.example.org" not in spec and "7946" not in spec  # personal values never enter the spec

        # 2. a typo, its diagnostic beside the line, then the fix
        caret_after(page, "target: approved")
        page.keyboard.press("Backspace")
        act("typo: delete the last letter of the target")
        page.locator(".ais-status[data-errors='1']").wait_for()
        page.locator(".ais-gutter .err").first.wait_for()
        page.get_by_text("target 'approve' is not a column of data.columns").first.wait_for()
        page.get_by_text("did you mean 'approved'?").first.wait_for()
        _shot(page, "edit-diagnostic", shots)
        # the form shows the typo too, with the same message beside the field
        page.wait_for_function("() => document.body.innerText.split(\"did you mean 'approved'?\").length - 1 >= 2")
        settled(page)
        assert page.get_by_role("button", name="Build", exact=True).first.is_disabled()
        caret_after(page, "target: approve")
        page.keyboard.type("d")
        act("fix: type the letter back")
        page.locator(".ais-status[data-errors='0']").wait_for()
        page.wait_for_function("() => document.body.innerText.includes('saved')")
        assert "target: approved" in (workspace / "loan_applications.yaml").read_text(encoding="utf-8")

        # 3. build, see the files, download the zip
        page.get_by_role("button", name="Build", exact=True).first.click()
        act("build")
        page.get_by_text("Built:").wait_for()
        _shot(page, "build", shots)
        with page.expect_download() as download:
            page.get_by_role("button", name="Download loan_applications.zip").click()
        act("download the zip")
        data = Path(download.value.path()).read_bytes()
        names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
        for expected in ("loan_applications/spec.yaml", "loan_applications/loan_applications/train.py",
                         "loan_applications/loan_applications/model.py", "loan_applications/requirements.txt",
                         "loan_applications/.aispec/manifest.json"):
            assert expected in names, sorted(names)

        # 4. run: progress, then the gates and the report
        page.get_by_role("button", name="Run", exact=True).first.click()
        act("run")
        page.get_by_role("button", name="Cancel").wait_for()  # running: live progress, and a way out
        page.get_by_text("✓ Clean and split").first.wait_for()  # training has begun: its steps so far
        page.screenshot(path=str(shots / "run-progress.png"))  # mid-run: redrawn every second, never settled
        page.get_by_text("Gates passed").wait_for(timeout=240_000)
        trained = time.perf_counter() - began
        page.get_by_text("every gate passed").first.wait_for()
        page.locator("code", has_text="f1_macro >= 0.7").first.wait_for()
        page.get_by_text("f1_macro = 0.").first.wait_for()  # the measured value beside the gate
        settled(page)
        report = page.frame_locator("iframe").first  # the report, inline
        report.get_by_role("heading", name="loan_applications").wait_for()
        report.get_by_role("heading", name="Summary").wait_for()
        assert (workspace / "loan_applications" / "artifacts" / "serving.json").exists()
        _shot(page, "run-gates", shots)
        page.locator("iframe").first.scroll_into_view_if_needed()
        _shot(page, "run-report", shots)
        actions_to_trained = len(act)

        # 5. the service, and a prediction from the form built from its request schema
        page.get_by_role("button", name="Try the model").click()
        act("try the model (starts the service)")
        page.get_by_role("button", name="Send").wait_for(timeout=90_000)
        page.get_by_role("button", name="Send").click()
        act("send a prediction")
        page.get_by_text("Prediction:").wait_for()
        _shot(page, "try", shots)
        total = time.perf_counter() - began
    return trained, actions_to_trained, total


@pytest.mark.skipif(chromium_path() is None and os.environ.get("CI") != "true", reason="no Chromium installed")
def test_a_300_mb_file_is_refused_before_it_is_sent(tmp_path: Path) -> None:
    """The real path of a too-large file: the browser checks its size against the server's cap and refuses it,
    sending nothing; the page says how to use a larger file instead. The file is sparse (300 MB long, no
    disk blocks) and the browser reads only its size."""
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    big = tmp_path / "huge.csv"
    with open(big, "wb") as handle:
        handle.truncate(300 * 1024 * 1024)
    with editor(workspace) as running, chromium() as browser:
        page = browser.new_page(viewport={"width": 1440, "height": 1000})
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(running.url)
        page.locator("input[type=file]").first.set_input_files(str(big))
        page.get_by_text("File must be 200.0MB or smaller.").wait_for(state="attached")
        page.get_by_text("A larger file: copy it into").wait_for()
        settled(page)
    assert not (workspace / "data").exists()  # nothing reached the workspace
