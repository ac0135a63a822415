"""The trained model's REST service, started from the editor as ``aispec serve`` starts it (the runtime's
``python -m aispec.runtime.serving``) on loopback and a free port, and asked over HTTP like any client.

No Streamlit here. The form of a prediction is read from the service's own request schema
(``/openapi.json``'s ``PredictRequest``), so it asks exactly what the service accepts.
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import jobs

_LISTENING = re.compile(r"listening on (http://[^\s]+)")


@dataclass
class Service:
    project: Path
    job: jobs.Job
    url: str | None = None  # once it answers
    candidate: str | None = None  # the URL its start-up line named

    def ready(self, timeout: float = 0.0) -> bool:
        """Whether the service answers (its start-up line names the URL, /ready says yes); waits up to
        ``timeout`` seconds."""
        deadline = time.time() + timeout
        while True:
            if self.url is None:
                match = _LISTENING.search(self.job.output())
                if match:
                    self.candidate = match.group(1)
            if self.url is None and self.candidate is not None and self._answers():
                self.url = self.candidate  # the port is bound before uvicorn accepts: ask /ready
            if self.url is not None or not self.job.running or time.time() >= deadline:
                return self.url is not None
            time.sleep(0.1)

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.candidate}/ready", timeout=2) as response:
                return bool(response.status == 200)
        except (OSError, ValueError):
            return False

    def get(self, path: str) -> Any:
        assert self.url is not None
        with urllib.request.urlopen(self.url + path, timeout=10) as response:
            return json.loads(response.read())

    def predict(self, row: dict[str, Any]) -> tuple[int, Any]:
        """POST one row to ``/<version>/predict``: (status, answer as JSON)."""
        assert self.url is not None
        paths = [p for p in self.get("/openapi.json")["paths"] if p.endswith("/predict")]
        request = urllib.request.Request(self.url + paths[0], data=json.dumps(row).encode("utf-8"),
                                         headers={"Content-Type": "application/json"}, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            body = error.read()
            try:
                return error.code, json.loads(body)
            except ValueError:
                return error.code, {"error": "http", "message": body.decode("utf-8", errors="replace")}

    def stop(self) -> None:
        self.job.stop("stopped from the editor")


def start(project: Path, *, limits: jobs.Limits) -> Service:
    artifacts = project / "artifacts"
    command = [jobs.python(), "-m", "aispec.runtime.serving", str(artifacts), "--host", "127.0.0.1", "--port", "0"]
    # a service runs until stopped: only the memory limit applies (the editor stops it when it exits)
    job = jobs.start("serve", command, cwd=project, log=project.with_name(f".{project.name}.serve.log"),
                     limits=jobs.Limits(seconds=limits.seconds * 1000, memory=limits.memory))
    return Service(project, job)


@dataclass(frozen=True)
class Input:
    """One field of the request row, from the service's request schema."""

    name: str
    kind: str  # "number" | "integer" | "boolean" | "choice" | "text"
    required: bool
    choices: tuple[Any, ...]
    minimum: float | None
    maximum: float | None
    description: str
    example: Any


def request_inputs(openapi: dict[str, Any]) -> list[Input]:
    """The fields of ``PredictRequest``, in the schema's order."""
    schema = openapi["components"]["schemas"]["PredictRequest"]
    required = set(schema.get("required") or ())
    example = (schema.get("examples") or [{}])[0]
    out = []
    for name, prop in (schema.get("properties") or {}).items():
        options = prop.get("anyOf") or [prop]
        typed = next((o for o in options if o.get("type") != "null"), prop)
        enum = typed.get("enum") or prop.get("enum")
        kind = "choice" if enum else {"number": "number", "integer": "integer", "boolean": "boolean"}.get(
            str(typed.get("type")), "text")
        out.append(Input(name, kind, name in required, tuple(enum or ()), typed.get("minimum"), typed.get("maximum"),
                         str(prop.get("description") or ""), example.get(name)))
    return out


def row_value(field: Input, text: str) -> Any:
    """What the form's text for ``field`` sends: a number stays a number only when it reads as one (a
    word goes as it is, so the service's 4xx names the field); empty is null."""
    if text.strip() == "":
        return None
    if field.kind in ("number", "integer"):
        try:
            number = float(text)
        except ValueError:
            return text
        return int(number) if field.kind == "integer" and number.is_integer() else number
    if field.kind == "boolean":
        return {"true": True, "false": False}.get(text.strip().lower(), text)
    return text
