"""No data dropped, altered or leaked without a word; every number as the spec means it.

Each test here failed on the code before the issues "Nothing silent" and "Every number right".
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from aispec.runtime import data, metrics, split, workflow
from aispec.runtime.errors import DataError, for_user
from aispec.schemas.labels import label_text

# ------------------------------------------------------------------------------------- loading


def _csv(tmp_path: Path, text: str, name: str = "d.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_only_empty_cells_are_missing_and_categories_keep_their_spelling(tmp_path: Path) -> None:
    _csv(tmp_path, "region,zip,size,code,n\nNA,01001,1.50,007,1\nNone,02110,1e3,012,2\n,00501,2,,3\nnull,x,3,5,\n")
    columns = {"region": {"type": "categorical", "nullable": True}, "zip": "categorical",
               "size": {"type": "categorical"}}
    frame = data.load_frame({"kind": "csv", "path": "d.csv"}, base_dir=tmp_path,
                            columns={k: v if isinstance(v, dict) else {"type": v} for k, v in columns.items()})
    # pandas' default list would have made NA, None and null missing, and 01001 / 1.50 / 1e3 numbers
    assert frame["region"].tolist() == ["NA", "None", None, "null"]
    assert frame["zip"].tolist() == ["01001", "02110", "00501", "x"]
    assert frame["size"].tolist() == ["1.50", "1e3", "2", "3"]
    # undeclared: a leading zero marks a code (text); plain numbers become numbers
    assert frame["code"].tolist() == ["007", "012", None, "5"]
    assert frame["n"].tolist()[:3] == [1.0, 2.0, 3.0] and math.isnan(frame["n"].tolist()[3])
    prepared = data.prepare_frame(frame, columns={"zip": {"type": "categorical"}, "size": {"type": "categorical"}},
                                  drop=[], pii=[])
    assert prepared["zip"].tolist() == ["01001", "02110", "00501", "x"]


def test_declared_missing_markers_per_source_and_per_column(tmp_path: Path) -> None:
    _csv(tmp_path, "a,b\nn/a,-\n1,2\n-,n/a\n")
    frame = data.load_frame({"kind": "csv", "path": "d.csv", "na_values": ["n/a"]}, base_dir=tmp_path,
                            columns={"a": {"type": "numeric", "nullable": True},
                                     "b": {"type": "numeric", "nullable": True, "na_values": ["-"]}})
    assert frame["a"].tolist() == [None, "1", "-"]  # "-" is a marker of column b only
    assert frame["b"].tolist() == [None, "2", None]


def test_a_word_in_a_numeric_column_stops_the_run_naming_column_values_and_line(tmp_path: Path) -> None:
    _csv(tmp_path, "age,y\n31,a\nn/a,b\n40,a\nNA,b\n")
    frame = data.load_frame({"kind": "csv", "path": "d.csv"}, base_dir=tmp_path)
    with pytest.raises(DataError) as caught:
        data.validate_frame(frame, columns={"age": {"type": "numeric", "nullable": True}}, target="y",
                            task="classification", min_rows=1, locations={"data.columns.age": "spec.yaml:9:5"})
    text = str(caught.value)
    assert "column 'age': values that are not numeric (2 rows)" in text and "'n/a'" in text and "'NA'" in text
    assert "spec.yaml:9:5" in text and "na_values" in text  # the way to say they mean missing


def test_jsonl_strings_are_not_missing_markers_and_floats_read_exactly(tmp_path: Path) -> None:
    (tmp_path / "d.jsonl").write_text('{"c": "NA", "x": 0.1}\n{"c": null, "x": 1.7e9}\n', encoding="utf-8")
    frame = data.load_frame({"kind": "jsonl", "path": "d.jsonl"}, base_dir=tmp_path)
    assert frame["c"].tolist()[0] == "NA" and frame["c"].isna().tolist() == [False, True]
    assert frame["x"].tolist() == [0.1, 1.7e9]


def test_memory_budget_is_checked_before_reading(tmp_path: Path) -> None:
    _csv(tmp_path, "a\n" + "123456789\n" * 2000)
    with pytest.raises(DataError, match=r"more than hardware\.memory = 1KiB") as caught:
        data.load_frame({"kind": "csv", "path": "d.csv"}, base_dir=tmp_path, memory="1KiB",
                        locations={"hardware.memory": "spec.yaml:30:11"})
    assert caught.value.where == "spec.yaml:30:11"
    assert len(data.load_frame({"kind": "csv", "path": "d.csv"}, base_dir=tmp_path, memory="1MiB")) == 2000


# ------------------------------------------------------------------------------ rows accounted


def _people() -> pd.DataFrame:
    return pd.DataFrame({
        "name": [f"Person {i}" for i in range(12)],
        "email": [f"p{i}@example.org" for i in range(12)],
        "answer": ["yes", "yes", "yes", "no", "no", "yes", "no", "no", "yes", "no", "yes", "no"],
        "score": [1.0, 1.0, 1.0, 2.0, None, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0],
        "label": ["a", "a", "a", "b", "b", None, "a", "b", "a", "b", "a", "b"],
    })


COLUMNS = {"name": {"type": "text"}, "email": {"type": "categorical"},
           "answer": {"type": "categorical"}, "score": {"type": "numeric", "nullable": True},
           "label": {"type": "categorical", "nullable": True}}


def test_every_step_that_removes_rows_says_how_many() -> None:
    frame = _people()
    report = data.validate_frame(frame, columns=COLUMNS, target="label", task="classification", min_rows=1,
                                 pii=["name", "email"])
    prepared = data.prepare_frame(frame, columns=COLUMNS, drop=[], pii=["name", "email"], target="label",
                                  task="classification", features=["answer", "score"],
                                  cleaning={"deduplicate": True, "impute": {"numeric": "drop"}}, report=report)
    steps = [(r.step, r.rows_in, r.rows_out) for r in report.rows]
    # the rows differ only by the PII columns: identical to the model, counted after those are dropped
    assert steps == [("read", 12, 12), ("rows without a target", 12, 11), ("missing numeric values", 11, 10),
                     ("duplicates", 10, 8)]
    assert len(prepared) == 8 and report.duplicates == 2
    assert list(prepared.columns) == ["answer", "score", "label"]


def test_deduplication_is_off_unless_asked_and_copies_across_the_split_are_reported() -> None:
    frame = pd.DataFrame({"x": [1.0, 1.0, 1.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0] * 2,
                          "y": ["a", "a", "a", "a", "b", "b", "a", "b", "a", "b"] * 2})
    report = data.validate_frame(frame, columns=None, target="y", task="classification", min_rows=1)
    prepared = data.prepare_frame(frame, columns=None, drop=[], pii=[], target="y", task="classification",
                                  cleaning={}, report=report)
    assert len(prepared) == 20 and report.duplicates == 13  # 7 distinct rows
    splits = split.split_frame(prepared, target="y", task="classification", train=0.7, validation=0.0, test=0.3,
                               stratify=True, seed=0, time_ordered=False, time_column=None, group_column=None,
                               report=report)
    copies = sum(any((splits.train == row).all(axis=1)) for _, row in splits.test.iterrows())
    assert copies > 0
    assert any(f"{copies:,} of the 6 test rows are exact copies of training rows" in w for w in report.warnings)
    assert report.split["mode"] == "stratified by the target"


def test_a_group_split_far_from_its_ratio_is_reported() -> None:
    frame = pd.DataFrame({"g": ["big"] * 40 + ["small1"] * 2 + ["small2"] * 3, "x": range(45), "y": [0, 1] * 22 + [0]})
    report = data.DataReport(45, 3, {})
    split.split_frame(frame, target="y", task="regression", train=0.75, validation=0.0, test=0.25, stratify=False,
                      seed=0, time_ordered=False, time_column=None, group_column="g", report=report)
    assert any("the test split holds" in w and "25% was asked" in w for w in report.warnings)


def test_pii_values_never_reach_a_message_or_the_summary() -> None:
    frame = _people()
    frame.loc[3, "email"] = None  # a missing value in a non-nullable PII column: a problem to report
    with pytest.raises(DataError) as caught:
        data.validate_frame(frame, columns={**COLUMNS, "email": {"type": "categorical", "allowed": ["x"]}},
                            target="label", task="classification", min_rows=1, pii=["name", "email"])
    assert "example.org" not in str(caught.value) and "[row 3]" in str(caught.value)
    report = data.validate_frame(_people(), columns=COLUMNS, target="label", task="classification", min_rows=1,
                                 pii=["name", "email"])
    summary = report.to_dict()["columns"]
    assert summary["email"] == {"name": "email", "dtype": summary["email"]["dtype"], "declared_type": "categorical",
                                "missing": 0, "unique": None, "min": None, "max": None, "mean": None, "std": None,
                                "top": [], "pii": True}
    assert "Person" not in str(report.to_dict()) and "example.org" not in str(report.to_dict())
    assert summary["answer"]["top"]  # other columns keep their most frequent values


def test_personal_looking_values_in_undeclared_columns_are_counted_never_shown() -> None:
    frame = pd.DataFrame({"contact": ["a@b.org", "c@d.com", "x"], "card": ["4111 1111 1111 1111", "1", "2"],
                          "phone": ["+44 20 7946 0958", "n", "m"], "note": ["fine", "ok", "4111 1111 1111 1112"]})
    warnings = data.personal_data_warnings(frame)
    assert warnings == [
        "column 'contact': 2 of 3 values look like e-mail addresses; if it holds personal data, list it under "
        "compliance.pii (it is then never a model input, logged or reported)",
        "column 'card': 1 of 3 values look like payment card numbers; if it holds personal data, list it under "
        "compliance.pii (it is then never a model input, logged or reported)",
        "column 'phone': 1 of 3 values look like phone numbers; if it holds personal data, list it under "
        "compliance.pii (it is then never a model input, logged or reported)",
    ]  # the card number in `note` fails the Luhn check: not counted
    assert data.personal_data_warnings(frame, exclude=["contact", "card", "phone"]) == []


def test_numbers_and_dates_with_separators_are_not_phone_numbers() -> None:
    """An income column (25120.78), a signup date (2020-01-31) or a count with thousands groups was reported
    as phone numbers, and the editor proposed such columns as personal data."""
    frame = pd.DataFrame({
        "income": ["25120.78", "-14890.5", "301234.00"], "signup": ["2020-01-31", "2021.12.01", "2019/03/04"],
        "european": ["31.01.2020", "01-02-2021", "3/4/19"], "count": ["1.234.567", "12.345.678", "999.000"],
        "phone": ["555.123.4567", "(020) 7946 0958", "+49 30 901820"]})
    warnings = data.personal_data_warnings(frame)
    assert [w.split(":")[0] for w in warnings] == ["column 'phone'"] and "3 of 3 values look like phone" in warnings[0]
    # a column declared numeric, datetime or boolean holds validated values, not personal text
    assert data.personal_data_warnings(frame, columns={"phone": {"type": "numeric"}}) == []
    assert data.personal_data_warnings(frame, columns={"phone": {"type": "categorical"}}) == warnings


# ---------------------------------------------------------------------------------- labels


def test_label_text_is_one_spelling_everywhere() -> None:
    assert [label_text(v) for v in (True, 1, 1.0, np.int64(1), "1", 1.5, None, float("nan"), "01001")] == \
        ["true", "1", "1", "1", "1", "1.5", "", "", "01001"]


def test_fairness_honours_a_positive_class_whose_type_differs_from_the_labels() -> None:
    # positive_class: 1 in the spec, the target read as text "0"/"1": selection rates were all 0 before
    frame = pd.DataFrame({"y": [0, 1] * 20, "g": ["a"] * 20 + ["b"] * 20})
    prepared = data.prepare_frame(frame, columns={"y": {"type": "categorical"}, "g": {"type": "categorical"}},
                                  drop=[], pii=[], target="y", task="classification")
    assert prepared["y"].tolist()[:2] == ["0", "1"]
    y_pred = np.array(["1"] * 19 + ["0"] + ["0"] * 20, dtype=object)  # group a almost all positive
    positive = workflow._positive("classification", 1, prepared["y"])
    assert positive == "1"
    fair = metrics.fairness(prepared[["g"]], prepared["y"], y_pred, ["demographic_parity_difference"],
                            positive_class=positive)
    from fairlearn.metrics import demographic_parity_difference

    expected = demographic_parity_difference(prepared["y"] == "1", y_pred == "1", sensitive_features=prepared["g"])
    assert fair["demographic_parity_difference"] == pytest.approx(expected) and expected > 0.9


def test_macro_averages_count_a_class_the_model_never_saw() -> None:
    y_true = np.array(["a"] * 8 + ["b"] * 8 + ["c"] * 4, dtype=object)
    y_pred = np.array(["a"] * 8 + ["b"] * 8 + ["a", "b", "a", "b"], dtype=object)  # "c": only in the test rows
    proba = np.tile([0.6, 0.4], (20, 1))
    values = metrics.compute("classification", ["recall_macro", "f1_macro", "precision_macro", "log_loss"],
                             y_true=y_true, y_pred=y_pred, y_score=proba, labels=["a", "b"], notes=(notes := {}))
    assert values["recall_macro"] == pytest.approx(skm.recall_score(y_true, y_pred, average="macro",
                                                                    zero_division=0))
    assert values["recall_macro"] == pytest.approx(2 / 3)  # it was 1.0 over the fitted classes only
    assert values["f1_macro"] == pytest.approx(skm.f1_score(y_true, y_pred, average="macro", zero_division=0))
    assert math.isnan(values["log_loss"]) and "no score for" in notes["log_loss"]
    assert set(metrics.per_class(y_true, y_pred, ["a", "b"])) == {"a", "b", "c"}


def test_mape_on_zero_targets_is_undefined_not_a_huge_number() -> None:
    notes: dict[str, str] = {}
    values = metrics.compute("regression", ["mape", "mae"], y_true=[0.0, 1.0, 2.0], y_pred=[0.1, 1.0, 2.0],
                             notes=notes)
    assert math.isnan(values["mape"]) and "1 true value(s) are 0" in notes["mape"]
    assert values["mae"] == pytest.approx(0.1 / 3)


def test_anomaly_label_is_decided_once_from_training_labels() -> None:
    train = np.array(["ok"] * 8 + ["bad"] * 2, dtype=object)
    test = np.array(["ok"] * 2 + ["bad"] * 5, dtype=object)  # the rarer label here is "ok"
    label = metrics.anomaly_label(train)
    assert label == "bad"
    assert metrics.anomaly_truth(test, label).tolist() == [False] * 2 + [True] * 5


# ---------------------------------------------------------------------------------- gates


def test_gate_thresholds_are_exact_and_messages_show_why() -> None:
    from aispec.schemas.expressions import parse_criterion

    crit = parse_criterion("r2 >= 0.5158513")
    assert str(crit) == "r2 >= 0.5158513"  # compiled into the project as written (it was rounded to 0.515851)
    report = metrics.check_gates([str(crit), "accuracy >= 0.9", "recall > 80%"],
                                 {"r2": 0.51585128, "accuracy": 0.89996, "recall": 0.8})
    assert [g["passed"] for g in report.gates] == [False, False, False]
    assert report.gates[0]["threshold"] == 0.5158513
    assert report.gates[1]["message"] == "accuracy = 0.89996, required >= 0.9"  # was "0.9, required >= 0.9"
    assert report.gates[2]["message"] == "recall = 0.8, required > 80%"


def test_locations_name_the_users_spec_when_aispec_run_says_which(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AISPEC_SPEC_PATH", "specs/churn.yaml")
    assert for_user("spec.yaml:12:5: bad (at spec.yaml:3:1)") == "specs/churn.yaml:12:5: bad (at specs/churn.yaml:3:1)"
    monkeypatch.delenv("AISPEC_SPEC_PATH")
    assert for_user("spec.yaml:12:5: bad") == "spec.yaml:12:5: bad"


# ------------------------------------------------------------------------ model selection


def _grouped(n_groups: int = 12, per: int = 10, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for g in range(n_groups):
        level = rng.normal()
        for _ in range(per):
            rows.append({"g": f"g{g}", "x": level + rng.normal(scale=0.01), "y": "a" if level > 0 else "b"})
    return pd.DataFrame(rows)


def test_cross_validation_keeps_groups_apart_and_time_in_order() -> None:
    frame = _grouped()
    folds, name = workflow._cv("classification", 4, 0, frame["y"], rows=frame,
                               rules={"group_column": "g", "stratify": True})
    assert name.startswith("StratifiedGroupKFold(4) by 'g'")
    for train, test in folds:
        assert set(frame["g"].iloc[train]).isdisjoint(set(frame["g"].iloc[test]))
    splitter, name = workflow._cv("regression", 3, 0, None, rules={"time_ordered": True})
    assert name.startswith("TimeSeriesSplit(3)")
    for train, test in splitter.split(np.zeros(30)):
        assert train.max() < test.min()


def test_resampling_happens_inside_each_training_fold_only() -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_predict

    from aispec.runtime.preprocess import Resampled

    X = pd.DataFrame({"x": np.arange(40, dtype=float)})
    y = pd.Series(["a"] * 34 + ["b"] * 6)
    seen: list[int] = []

    class Counting(LogisticRegression):  # type: ignore[misc]
        def fit(self, X: Any, y: Any, sample_weight: Any = None) -> Any:
            seen.append(len(X))
            return super().fit(X, y)

    from sklearn.pipeline import Pipeline

    model = Resampled(Pipeline([("model", Counting())]), "oversample", 0)
    predictions = cross_val_predict(model, X, y, cv=4)
    assert len(predictions) == 40  # every held-out row scored once, as it is (no copies of it in its fold)
    assert seen and all(n > 30 for n in seen)  # each training fold (30 rows) was oversampled before fitting
