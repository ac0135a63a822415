"""Load, validate and split the data of mauna-loa-co2-gru.

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
from aispec.runtime.series.frame import regularize
from aispec.runtime.split import Split

from mauna_loa_co2_gru.config import DATA_DIR, LOCATIONS, SPEC, TARGET, TASK
from mauna_loa_co2_gru.features import FEATURES, SETTINGS


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
    """Coerce types, remove rows without a target and (if asked) duplicate rows, then put the series on
    its regular time grid: one row per `problem.frequency` step, in time order, steps without an
    observation filled by linear interpolation (recorded in the report's row ledger).
    """
    prepared = data.prepare_frame(
        frame,
        columns=SPEC["data"]["columns"],
        drop=SPEC["data"]["drop"],
        pii=SPEC["compliance"]["pii"],
        target=TARGET,
        task=TASK,
        features=FEATURES,
        cleaning=SPEC["data"]["cleaning"],
        report=report,
    )
    series, _ = regularize(
        prepared,
        time_column=SETTINGS.time_column,
        target=SETTINGS.target,
        frequency=SETTINGS.frequency,
        report=report,
        locations=LOCATIONS,
    )
    return series


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
