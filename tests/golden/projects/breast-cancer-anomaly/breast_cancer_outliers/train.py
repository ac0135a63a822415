"""Train, evaluate, gate, export and document breast-cancer-outliers.

    python -m breast_cancer_outliers            # or: make train
    python -m breast_cancer_outliers --resume   # keep the trials an interrupted search finished (checkpoints/)

Steps: load → validate → clean and split → search and fit → evaluate → ONNX export →
acceptance gates → report, model card and datasheet, all written to artifacts/.
Exit status: 0 when every acceptance gate passes, 1 when a gate fails, 2 when the data or a setting
is wrong (the message names the spec line).
"""

from __future__ import annotations

import argparse

from aispec.runtime import workflow
from aispec.runtime.data import DataReport
from aispec.runtime.errors import AispecRuntimeError
from aispec.runtime.progress import Steps
from aispec.runtime.split import Split

from breast_cancer_outliers import data
from breast_cancer_outliers.config import (
    ARTIFACTS,
    BACKEND,
    CHECKPOINTS,
    FAIRNESS_GATES,
    GATES,
    LOCATIONS,
    PRIMARY_METRIC,
    PROJECT_NAME,
    REPORT_METRICS,
    SEED,
    SPEC,
    SPEC_HASH,
    TARGET,
    TASK,
)
from breast_cancer_outliers.features import FEATURE_TYPES, FEATURES
from breast_cancer_outliers.model import SEARCH_SPACE, build_pipeline


def train(splits: Split, report: DataReport, resume: bool = False) -> workflow.Trained:
    """Fit the model on the training split (the search cross-validates inside it); `resume` keeps the
    trials an interrupted search finished."""
    return workflow.train(
        build_pipeline,
        splits,
        features=FEATURES,
        target=TARGET,
        task=TASK,
        scoring=PRIMARY_METRIC,
        seed=SEED,
        search=workflow.SearchSettings(
            space=SEARCH_SPACE,
            method="random",
            trials=25,
            timeout_s=None,
            folds=5,
        ),
        rebalance=SPEC["data"]["cleaning"]["imbalance"],
        positive_class=SPEC["problem"]["positive_class"],
        outliers=SPEC["data"]["cleaning"]["outliers"],
        feature_types=FEATURE_TYPES,
        locations=LOCATIONS,
        report=report,
        split_rules=SPEC["data"]["split"],
        cpus=SPEC["hardware"]["cpus"],
        backend=BACKEND,
        # every finished search trial is kept in checkpoints/search.json, for --resume
        checkpoint_dir=CHECKPOINTS,
        resume=resume,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m breast_cancer_outliers",
        description=f"Train, evaluate, gate, export and document {PROJECT_NAME}.",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="keep the trials an interrupted search finished (checkpoints/search.json)",
    )
    args = parser.parse_args([] if argv is None else argv)
    steps = Steps(PROJECT_NAME)
    try:
        with steps.step("Load data"):
            frame = data.load()
        with steps.step("Validate data against the declared schema"):
            data_report = data.validate(frame)
        with steps.step("Clean and split"):
            splits = data.split_data(data.prepare(frame, data_report), data_report)
        for step in data_report.rows:
            steps.note(step.line())
        with steps.step("Train"):
            trained = train(splits, data_report, resume=args.resume)
        with steps.step("Evaluate on the test split"):
            evaluation = workflow.evaluate(
                trained,
                splits,
                metrics=REPORT_METRICS,
                sensitive=SPEC["compliance"]["sensitive"],
                pii=SPEC["compliance"]["pii"],
            )
        with steps.step("Export to ONNX and compare with scikit-learn"):
            exported = workflow.export(
                trained,
                splits,
                out_dir=ARTIFACTS,
                quantize=SPEC["deployment"]["optimize"]["quantize"],
                metrics=REPORT_METRICS,
                primary=PRIMARY_METRIC,
            )
        with steps.step("Check the acceptance gates"):
            gates = workflow.check_gates(
                evaluation,
                exported,
                gates=GATES,
                fairness_gates=FAIRNESS_GATES,
                locations=LOCATIONS,
                deployment=SPEC["deployment"]["target"],
            )
        with steps.step("Write report, model card and datasheet"):
            outputs = workflow.document(
                spec=SPEC,
                data_report=data_report,
                trained=trained,
                evaluation=evaluation,
                exported=exported,
                gates=gates,
                out_dir=ARTIFACTS,
                timings=steps.timings,
                splits=splits,
                spec_hash=SPEC_HASH,
            )
    except AispecRuntimeError as error:
        steps.fail(error)
        return 2
    for warning in workflow.warnings(data_report, evaluation, exported):
        steps.warn(warning)
    steps.summary(gates, outputs)
    return 0 if gates.passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
