"""Fixtures of the editor's tests: a workspace folder, the app under Streamlit's AppTest, and the bytes
of its download buttons (AppTest drops its media store after each run, so they are recorded as they
are stored)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("streamlit")

from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

APP = Path(__file__).resolve().parents[2] / "ui" / "app.py"
TIMEOUT = 60


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "workspace"
    root.mkdir()
    monkeypatch.setenv("AISPEC_UI_WORKSPACE", str(root))
    monkeypatch.delenv("AISPEC_UI_SPEC", raising=False)
    return root


@pytest.fixture
def new_app(workspace: Path) -> Callable[[], AppTest]:
    """A new browser tab on the editor (each has its own session)."""

    def make() -> AppTest:
        at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
        return at.run()

    return make


@pytest.fixture
def downloads(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, bytes]]:
    """{file name: bytes} of every st.download_button drawn while the test runs."""
    seen: dict[str, bytes] = {}

    class Recording(MemoryMediaFileStorage):
        def load_and_get_id(self, path_or_data: Any, mimetype: str, kind: Any, filename: str | None = None) -> str:
            if isinstance(path_or_data, bytes) and filename:
                seen[filename] = path_or_data
            return str(super().load_and_get_id(path_or_data, mimetype, kind, filename))

    import streamlit.testing.v1.app_test as app_test

    monkeypatch.setattr(app_test, "MemoryMediaFileStorage", Recording)
    yield seen


def widget(elements: Any, loc: tuple[Any, ...], part: str = "") -> Any:
    """The form widget of ``loc`` among ``elements`` (e.g. ``at.selectbox``)."""
    suffix = json.dumps(list(loc)) + part
    found = [w for w in elements if w.key and w.key.startswith("form:") and w.key.endswith(suffix)]
    assert len(found) == 1, f"{len(found)} widgets for {loc}: {[w.key for w in elements]}"
    return found[0]


def messages(at: AppTest) -> list[str]:
    return [e.value for e in (*at.error, *at.warning)]


def type_text(at: AppTest, text: str) -> AppTest:
    """What the text view sends when the user types: the whole text, on the version it was typed on."""
    doc = at.session_state["doc"]
    at.session_state["editor"] = {"edit": {"text": text, "version": doc.version, "seq": doc.seq + 1}}
    return at.run()


def flat(block: Any) -> list[Any]:
    """Every element under ``block``, in page order."""
    out: list[Any] = []
    for child in getattr(block, "children", {}).values():
        out.append(child)
        out.extend(flat(child))
    return out


def views(at: AppTest) -> tuple[list[Any], list[Any]]:
    """The Edit page's form view and text view, each as its elements in page order."""
    columns = [el for el in flat(at.main) if type(el).__name__ == "Column"]
    form = next(c for c in columns if any(str(getattr(e, "key", "")).endswith('["problem", "task"]')
                                          or str(getattr(e, "key", "")).startswith("form:") for e in flat(c)))
    text = next(c for c in columns if any(getattr(e, "type", "") == "bidi_component" for e in flat(c)))
    return flat(form), flat(text)


def errors_in(elements: list[Any]) -> list[str]:
    return [e.value for e in elements if getattr(e, "type", "") in ("error", "warning")]
