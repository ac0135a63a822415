"""Load, validate and split the data of sms-spam-transfer.

Validation runs before any training time is spent: every declared column, type, range, allowed
value and nullability is checked, and all problems are reported at once, each with the spec line
that declared it. Every step that removes or divides rows records it in the DataReport (rows in,
rows out, why), which the run output, the report and the datasheet show.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from aispec.runtime import data, split
from aispec.runtime.data import DataReport
from aispec.runtime.split import Split

from sms_spam_transfer.config import DATA_DIR, LOCATIONS, SPEC, TARGET, TASK
from sms_spam_transfer.features import FEATURES


def load() -> pd.DataFrame:
    """The raw data, from spec.yaml's `data.source` (only empty cells and the declared
    `na_values` are missing; declared text columns keep their exact spelling)."""
    return data.load_frame(
        SPEC["data"]["source"],
        locations=LOCATIONS,
        base_dir=DATA_DIR,
        columns=SPEC["data"]["columns"],
        memory=SPEC["hardware"]["memory"],
    )


def validate(frame: pd.DataFrame) -> DataReport:
    """Check the data against the declared schema; raises DataError listing every problem."""
    return data.validate_frame(
        frame,
        columns=SPEC["data"]["columns"],
        target=TARGET,
        task=TASK,
        min_rows=SPEC["data"]["min_rows"],
        locations=LOCATIONS,
        pii=SPEC["compliance"]["pii"],
    )


def prepare(frame: pd.DataFrame, report: DataReport) -> pd.DataFrame:
    """Drop declared and PII columns, coerce types, then remove rows without a target, rows with
    missing values where `cleaning.impute` says drop, and (if asked) duplicate rows.

    Sensitive attributes stay in the frame for per-group evaluation; they are model inputs only
    when listed in FEATURES (features.py).
    """
    sensitive = set(SPEC["compliance"]["sensitive"])
    return data.prepare_frame(
        frame,
        columns=SPEC["data"]["columns"],
        drop=[name for name in SPEC["data"]["drop"] if name not in sensitive],
        pii=[name for name in SPEC["compliance"]["pii"] if name not in sensitive],
        target=TARGET,
        task=TASK,
        features=FEATURES,
        cleaning=SPEC["data"]["cleaning"],
        report=report,
    )


def split_data(frame: pd.DataFrame, report: DataReport) -> Split:
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
        report=report,
    )
