"""Prediction and feedback logs (JSON Lines) and the in-memory index that joins feedback to predictions.

* :class:`JsonlLog` buffers records in memory and appends them to a ``.jsonl`` file when the buffer
  holds ``flush_rows`` records, when :meth:`JsonlLog.flush` is called (the service does so every
  second and at shutdown) and on :meth:`JsonlLog.close`. When the file would grow past
  ``max_bytes`` it is rotated first: ``predictions.jsonl`` -> ``predictions.jsonl.1`` -> ... ->
  ``.<backups>`` (the oldest is dropped). A write error is counted and reported, never raised into
  a request.
* Records are plain dicts; ``timestamp`` (seconds since the epoch, a float) is written as ISO 8601 UTC.
  The service never puts a PII column into a record: PII fields are not part of the request model.
* :class:`RecentPredictions` keeps the last ``capacity`` predictions (id -> what was predicted) so
  that ``POST /v1/feedback`` can join a label to its prediction without reading the log.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import count
from pathlib import Path
from typing import Any

from pydantic_core import to_json

__all__ = ["JsonlLog", "PredictionIds", "RecentPredictions"]

logger = logging.getLogger("aispec.serving")


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonlLog:
    """An append-only, buffered, size-rotated JSON Lines file."""

    def __init__(self, path: Path, *, max_bytes: int = 64 * 1024 * 1024, backups: int = 5,
                 flush_rows: int = 512) -> None:
        self.path = Path(path)
        self.max_bytes = max(1024, int(max_bytes))
        self.backups = max(0, int(backups))
        self.flush_rows = max(1, int(flush_rows))
        self._buffer: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self.written = 0  # records written
        self.errors = 0  # failed writes
        self.last_error: str | None = None

    def append(self, record: dict[str, Any]) -> None:
        """Buffer one record (flushes when the buffer is full)."""
        self._buffer.append(record)
        if len(self._buffer) >= self.flush_rows:
            self.flush()

    @property
    def pending(self) -> int:
        return len(self._buffer)

    def take(self) -> list[dict[str, Any]]:
        """Empty the buffer and return what it held (to write elsewhere, e.g. in a thread)."""
        records, self._buffer = self._buffer, []
        return records

    def flush(self) -> int:
        """Write the buffered records now; returns how many were written."""
        return self.write(self.take())

    def write(self, records: list[dict[str, Any]]) -> int:
        if not records:
            return 0
        lines = []
        for record in records:
            ts = record.get("timestamp")
            if isinstance(ts, float):
                record = {**record, "timestamp": _iso(ts)}
            lines.append(to_json(record, fallback=str, inf_nan_mode="null"))
        data = b"\n".join(lines) + b"\n"
        with self._lock:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                try:
                    size = self.path.stat().st_size
                except FileNotFoundError:
                    size = 0
                if size and size + len(data) > self.max_bytes:
                    self._rotate()
                with open(self.path, "ab") as handle:
                    handle.write(data)
                self.written += len(records)
            except OSError as exc:
                self.errors += 1
                self.last_error = f"{type(exc).__name__}: {exc}"
                logger.warning("cannot write %s: %s", self.path, exc)
                return 0
        return len(records)

    def _rotate(self) -> None:
        if self.backups == 0:
            self.path.unlink(missing_ok=True)
            return
        for i in range(self.backups - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{i}")
            if older.exists():
                os.replace(older, self.path.with_name(f"{self.path.name}.{i + 1}"))
        os.replace(self.path, self.path.with_name(f"{self.path.name}.1"))

    def files(self) -> list[Path]:
        """The log and its rotated backups that exist, newest first."""
        names = [self.path] + [self.path.with_name(f"{self.path.name}.{i}") for i in range(1, self.backups + 1)]
        return [p for p in names if p.exists()]

    def close(self) -> None:
        self.flush()

    def status(self) -> dict[str, Any]:
        return {"path": str(self.path), "written": self.written, "pending": self.pending, "errors": self.errors,
                "last_error": self.last_error}


class PredictionIds:
    """Unique, cheap prediction ids: a random per-process prefix and a counter (``"3f2a9c1b-0000002a"``)."""

    def __init__(self) -> None:
        self._prefix = secrets.token_hex(4)
        self._count = count(1)

    def __next__(self) -> str:
        return f"{self._prefix}-{next(self._count):08x}"

    def __iter__(self) -> Iterator[str]:
        return self


class RecentPredictions:
    """The last ``capacity`` predictions: id -> (variant, outcome, timestamp). O(1) insert and look-up."""

    def __init__(self, capacity: int = 50_000) -> None:
        self.capacity = max(1, int(capacity))
        self._entries: dict[str, tuple[str, Any, float]] = {}
        self._ring: list[str | None] = [None] * self.capacity
        self._pos = 0

    def add(self, prediction_id: str, variant: str, outcome: Any, ts: float) -> None:
        old = self._ring[self._pos]
        if old is not None:
            self._entries.pop(old, None)
        self._ring[self._pos] = prediction_id
        self._pos = self._pos + 1 if self._pos + 1 < self.capacity else 0
        self._entries[prediction_id] = (variant, outcome, ts)

    def get(self, prediction_id: str) -> tuple[str, Any, float] | None:
        return self._entries.get(prediction_id)

    def __len__(self) -> int:
        return len(self._entries)
