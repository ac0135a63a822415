"""Load, validate and split the data of diabetes-progression.

Validation runs before any training time is spent: every declared column, type, range, allowed
value and nullability is checked, and all problems are reported at once, each with the spec line
that declared it.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from aispec.runtime import data, preprocess, split
from aispec.runtime.data import DataReport
from aispec.runtime.split import Split

from diabetes_progression.config import DATA_DIR, LOCATIONS, SPEC, TARGET, TASK


def load() -> pd.DataFrame:
    """The raw data, from spec.yaml's `data.source`."""
    return data.load_frame(SPEC["data"]["source"], locations=LOCATIONS, base_dir=DATA_DIR)


def validate(frame: pd.DataFrame) -> DataReport:
    """Check the data against the declared schema; raises DataError listing every problem."""
    return data.validate_frame(
        frame,
        columns=SPEC["data"]["columns"],
        target=TARGET,
        task=TASK,
        min_rows=SPEC["data"]["min_rows"],
        locations=LOCATIONS,
    )


def prepare(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop declared and PII columns, coerce types and (if asked) remove duplicate rows.

    Sensitive attributes stay in the frame for per-group evaluation; they are model inputs only
    when listed in FEATURES (features.py).
    """
    sensitive = set(SPEC["compliance"]["sensitive"])
    prepared = data.prepare_frame(
        frame,
        columns=SPEC["data"]["columns"],
        drop=[name for name in SPEC["data"]["drop"] if name not in sensitive],
        pii=[name for name in SPEC["compliance"]["pii"] if name not in sensitive],
    )
    if SPEC["data"]["cleaning"]["deduplicate"]:
        prepared = preprocess.deduplicate(prepared)
    return prepared


def split_data(frame: pd.DataFrame) -> Split:
    """Train / validation / test splits as declared in `data.split`."""
    settings: dict[str, Any] = SPEC["data"]["split"]
    return split.split_frame(
        frame,
        target=TARGET,
        task=TASK,
        train=settings["train"],
        validation=settings["validation"],
        test=settings["test"],
        stratify=bool(settings["stratify"]) and TARGET is not None,
        seed=settings["seed"],
        time_ordered=bool(settings["time_ordered"]),
        time_column=SPEC["problem"]["time_column"],
        group_column=settings["group_column"],
    )
