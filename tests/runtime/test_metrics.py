"""aispec.runtime.metrics: every quality metric against scikit-learn, groups, fairness, latency, gates."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fairlearn import metrics as flm
from sklearn import metrics as skm

from aispec.runtime import metrics as M
from aispec.runtime.errors import AispecRuntimeError, ConfigError
from aispec.schemas.vocabulary import METRICS, Task

RNG = np.random.default_rng(7)
LABELS = ["cat", "dog", "eel"]
Y3 = RNG.choice(LABELS, 120)
P3 = RNG.dirichlet([2, 2, 2], 120)
P3[np.arange(120), [LABELS.index(v) for v in Y3]] += 0.6  # make the scores informative
P3 /= P3.sum(axis=1, keepdims=True)
YP3 = np.array(LABELS)[P3.argmax(axis=1)]

YB = np.where(RNG.random(150) < 0.4, "spam", "ham")
SB = np.clip(np.where(YB == "spam", 0.65, 0.35) + RNG.normal(0, 0.2, 150), 0.01, 0.99)  # P(spam)
YPB = np.where(SB >= 0.5, "spam", "ham")

YR = RNG.normal(10, 3, 80)
PR = YR + RNG.normal(0, 1, 80)


def approx(value: float) -> Any:
    return pytest.approx(value, rel=1e-12, abs=1e-12)


# ------------------------------------------------------------------------------------- classification


def test_multiclass_metrics_equal_scikit_learn() -> None:
    names = ["accuracy", "balanced_accuracy", "precision_macro", "recall_macro", "f1_macro", "f1_weighted",
             "f1_micro", "roc_auc_ovr", "roc_auc", "average_precision", "log_loss", "mcc", "cohen_kappa"]
    got = M.compute("classification", names, y_true=Y3, y_pred=YP3, y_score=P3, labels=LABELS)
    assert list(got) == names
    onehot = np.stack([np.equal(Y3, c) for c in LABELS], axis=1)
    expected = {
        "accuracy": skm.accuracy_score(Y3, YP3),
        "balanced_accuracy": skm.balanced_accuracy_score(Y3, YP3),
        "precision_macro": skm.precision_score(Y3, YP3, average="macro"),
        "recall_macro": skm.recall_score(Y3, YP3, average="macro"),
        "f1_macro": skm.f1_score(Y3, YP3, average="macro"),
        "f1_weighted": skm.f1_score(Y3, YP3, average="weighted"),
        "f1_micro": skm.f1_score(Y3, YP3, average="micro"),
        "roc_auc_ovr": skm.roc_auc_score(Y3, P3, multi_class="ovr", labels=LABELS),
        "roc_auc": skm.roc_auc_score(Y3, P3, multi_class="ovr", labels=LABELS),  # documented: OvR macro
        "average_precision": skm.average_precision_score(onehot, P3, average="macro"),
        "log_loss": skm.log_loss(Y3, P3, labels=LABELS),
        "mcc": skm.matthews_corrcoef(Y3, YP3),
        "cohen_kappa": skm.cohen_kappa_score(Y3, YP3),
    }
    for name, value in expected.items():
        assert got[name] == approx(value), name


def test_binary_metrics_with_positive_class() -> None:
    names = ["precision", "recall", "f1", "roc_auc", "roc_auc_ovr", "average_precision", "brier", "log_loss",
             "accuracy"]
    proba = np.column_stack([1 - SB, SB])  # columns in label order ham, spam
    got = M.compute("classification", names, y_true=YB, y_pred=YPB, y_score=proba, labels=["ham", "spam"],
                    positive_class="spam")
    assert got["precision"] == approx(skm.precision_score(YB, YPB, pos_label="spam"))
    assert got["recall"] == approx(skm.recall_score(YB, YPB, pos_label="spam"))
    assert got["f1"] == approx(skm.f1_score(YB, YPB, pos_label="spam"))
    assert got["roc_auc"] == approx(skm.roc_auc_score(YB == "spam", SB))
    assert got["roc_auc_ovr"] == got["roc_auc"]
    assert got["average_precision"] == approx(skm.average_precision_score(YB == "spam", SB))
    assert got["brier"] == approx(skm.brier_score_loss(YB == "spam", SB))
    assert got["log_loss"] == approx(skm.log_loss(YB, proba, labels=["ham", "spam"]))
    # a 1-D y_score is the positive class's probability
    one_d = M.compute("classification", names, y_true=YB, y_pred=YPB, y_score=SB, labels=["ham", "spam"],
                      positive_class="spam")
    assert one_d == pytest.approx(got)


def test_positive_class_changes_binary_metrics() -> None:
    proba = np.column_stack([1 - SB, SB])
    ham = M.compute("classification", ["precision", "roc_auc", "brier"], y_true=YB, y_pred=YPB, y_score=proba,
                    labels=["ham", "spam"], positive_class="ham")
    assert ham["precision"] == approx(skm.precision_score(YB, YPB, pos_label="ham"))
    assert ham["roc_auc"] == approx(skm.roc_auc_score(YB == "ham", 1 - SB))
    assert ham["brier"] == approx(skm.brier_score_loss(YB == "ham", 1 - SB))


def test_binary_default_positive_class_is_the_last_label() -> None:
    y = np.array([0, 1, 1, 0, 1, 0, 1, 1])
    p = np.array([0, 1, 0, 0, 1, 1, 1, 1])
    got = M.compute("classification", ["precision", "recall"], y_true=y, y_pred=p)
    assert got == {"precision": approx(skm.precision_score(y, p)), "recall": approx(skm.recall_score(y, p))}


def test_binary_metric_of_one_class_in_a_multiclass_problem() -> None:
    got = M.compute("classification", ["recall"], y_true=Y3, y_pred=YP3, labels=LABELS, positive_class="dog")
    assert got["recall"] == approx(skm.recall_score(Y3 == "dog", YP3 == "dog"))


def test_text_and_image_classification_use_the_same_metrics() -> None:
    for task in ("text_classification", "image_classification"):
        got = M.compute(task, ["accuracy", "f1_macro"], y_true=Y3, y_pred=YP3)
        assert got["accuracy"] == approx(skm.accuracy_score(Y3, YP3))


def test_labels_default_to_the_sorted_union() -> None:
    got = M.compute("classification", ["log_loss"], y_true=Y3, y_pred=YP3, y_score=P3)
    assert got["log_loss"] == approx(skm.log_loss(Y3, P3))


# ----------------------------------------------------------------------------------------- regression


def test_regression_metrics_equal_scikit_learn() -> None:
    names = ["mse", "rmse", "mae", "r2", "mape", "median_ae", "explained_variance"]
    got = M.compute("regression", names, y_true=YR, y_pred=PR)
    assert got == {
        "mse": approx(skm.mean_squared_error(YR, PR)),
        "rmse": approx(math.sqrt(skm.mean_squared_error(YR, PR))),
        "mae": approx(skm.mean_absolute_error(YR, PR)),
        "r2": approx(skm.r2_score(YR, PR)),
        "mape": approx(skm.mean_absolute_percentage_error(YR, PR)),
        "median_ae": approx(skm.median_absolute_error(YR, PR)),
        "explained_variance": approx(skm.explained_variance_score(YR, PR)),
    }


def test_forecasting_smape_and_mase_exact() -> None:
    y = pd.Series([10.0, 12.0, 11.0, 15.0, 0.0])
    p = [11.0, 12.0, 9.0, 15.0, 0.0]
    train = [1.0, 4.0, 2.0, 7.0, 3.0]  # the training part: the scale is its seasonal-naive MAE
    scale = M.mase_scale(train, season=2)
    assert scale == approx((1 + 3 + 1) / 3)  # |2-1|, |7-4|, |3-2|
    got = M.compute("forecasting", ["smape", "mase", "mae"], y_true=y, y_pred=p, mase_scale=scale)
    smape = (2 * 1 / 21 + 0 + 2 * 2 / 20 + 0 + 0) / 5  # 0/0 counts as 0
    mae = (1 + 0 + 2 + 0 + 0) / 5
    assert got == {"smape": approx(smape), "mase": approx(mae / scale), "mae": approx(mae)}
    assert M.mase_scale(train) == approx((3 + 2 + 5 + 4) / 4)  # no season: the one-step naive forecast


def test_mase_without_a_training_scale_or_on_a_constant_series_is_nan() -> None:
    notes: dict[str, str] = {}
    got = M.compute("forecasting", ["mase"], y_true=[3.0, 3.0], y_pred=[3.0, 2.0], notes=notes)
    assert math.isnan(got["mase"]) and "training" in notes["mase"]
    flat = M.mase_scale([3.0, 3.0, 3.0])
    assert math.isnan(M.compute("forecasting", ["mase"], y_true=[3.0, 3.0], y_pred=[3.0, 2.0], mase_scale=flat)["mase"])


# ----------------------------------------------------------------------------------------- clustering


def test_clustering_metrics_equal_scikit_learn() -> None:
    X = np.vstack([RNG.normal(0, 1, (30, 2)), RNG.normal(5, 1, (30, 2)), RNG.normal([0, 6], 1, (30, 2))])
    truth = np.repeat(["a", "b", "c"], 30)
    labels = np.repeat([0, 1, 2], 30)
    labels[:3] = 1
    names = ["silhouette", "calinski_harabasz", "davies_bouldin", "adjusted_rand", "nmi"]
    got = M.compute("clustering", names, y_true=truth, y_pred=labels, X=pd.DataFrame(X))
    assert got == {
        "silhouette": approx(skm.silhouette_score(X, labels)),
        "calinski_harabasz": approx(skm.calinski_harabasz_score(X, labels)),
        "davies_bouldin": approx(skm.davies_bouldin_score(X, labels)),
        "adjusted_rand": approx(skm.adjusted_rand_score(truth, labels)),
        "nmi": approx(skm.normalized_mutual_info_score(truth, labels)),
    }


def test_silhouette_of_a_single_cluster_is_nan() -> None:
    got = M.compute("clustering", ["silhouette"], y_true=None, y_pred=[0, 0, 0, 0], X=np.eye(4))
    assert math.isnan(got["silhouette"])


# ---------------------------------------------------------------------------------------------- anomaly


def test_anomaly_metrics() -> None:
    truth = np.array(["malignant"] * 4 + ["benign"] * 8)
    score = np.array([0.9, 0.8, 0.3, 0.7, 0.1, 0.2, 0.6, 0.1, 0.2, 0.3, 0.1, 0.05])  # higher = more anomalous
    pred = np.where(score >= 0.6, -1, 1)  # scikit-learn: -1 = anomaly
    names = ["roc_auc", "average_precision", "anomaly_rate", "precision_at_contamination"]
    got = M.compute("anomaly_detection", names, y_true=truth, y_pred=pred, y_score=score,
                    positive_class="malignant")
    is_anomaly = truth == "malignant"
    assert got == {
        "roc_auc": approx(skm.roc_auc_score(is_anomaly, score)),
        "average_precision": approx(skm.average_precision_score(is_anomaly, score)),
        "anomaly_rate": approx(4 / 12),
        "precision_at_contamination": approx(3 / 4),  # flagged: 0.9, 0.8, 0.7 (true), 0.6 (false)
    }
    # without positive_class the rarer label is the anomaly
    assert M.compute("anomaly_detection", names, y_true=truth, y_pred=pred, y_score=score) == got
    # booleans and 0/1 work too
    assert M.compute("anomaly_detection", ["roc_auc"], y_true=is_anomaly.astype(int), y_pred=pred,
                     y_score=score)["roc_auc"] == got["roc_auc"]
    assert M.compute("anomaly_detection", ["anomaly_rate"], y_true=None, y_pred=pred == -1,
                     y_score=None)["anomaly_rate"] == approx(4 / 12)


def test_anomaly_labels_that_cannot_be_told_apart() -> None:
    with pytest.raises(ConfigError, match="equally frequent"):
        M.compute("anomaly_detection", ["roc_auc"], y_true=["a", "b"], y_pred=[1, -1], y_score=[0.1, 0.9])
    with pytest.raises(ConfigError, match="-1/1"):
        M.compute("anomaly_detection", ["anomaly_rate"], y_true=None, y_pred=[0, 2, 3])


# --------------------------------------------------------------------------------- vocabulary coverage


def _inputs(task: Task) -> dict[str, Any]:
    if task in (Task.classification, Task.text_classification, Task.image_classification):
        return {"y_true": YB, "y_pred": YPB, "y_score": np.column_stack([1 - SB, SB]), "labels": ["ham", "spam"],
                "positive_class": "spam"}
    if task is Task.forecasting:
        return {"y_true": YR, "y_pred": PR, "mase_scale": M.mase_scale(YR, season=2)}
    if task is Task.regression:
        return {"y_true": YR, "y_pred": PR}
    if task == Task.clustering:
        return {"y_true": Y3, "y_pred": YP3, "X": P3}
    return {"y_true": YB, "y_pred": np.where(YPB == "spam", -1, 1), "y_score": SB, "positive_class": "spam"}


@pytest.mark.parametrize("name", sorted(n for n, m in METRICS.items() if m.kind == "quality"))
def test_every_quality_metric_is_computed_for_every_task_it_lists(name: str) -> None:
    for task in sorted(METRICS[name].tasks, key=lambda t: t.value):
        value = M.compute(task.value, [name], **_inputs(task))[name]
        assert isinstance(value, float) and math.isfinite(value), (name, task)


# ---------------------------------------------------------------------------------------------- errors


@pytest.mark.parametrize(("task", "names", "kwargs", "message"), [
    ("classification", ["acuracy"], {}, "unknown metric 'acuracy'"),
    ("classification", ["rmse"], {}, "does not apply to task 'classification'"),
    ("classification", ["p95_latency_ms"], {}, "operational metric"),
    ("classification", ["demographic_parity_difference"], {}, "fairness metric"),
    ("classification", ["roc_auc"], {}, "needs y_score"),
    ("classification", ["precision"], {"labels": LABELS}, "binary metric and there are 3 classes"),
    ("classification", ["log_loss"], {"y_score": P3[:, :2]}, "y_score has 2 columns but there are 3 labels"),
    ("clustering", ["silhouette"], {}, "needs X"),
    ("clustering", ["nmi"], {"y_true": None}, "needs y_true"),
    ("anomaly_detection", ["roc_auc"], {"y_true": None}, "needs y_true"),
    ("teleportation", ["accuracy"], {}, "unknown task"),
])
def test_missing_inputs_and_bad_names_are_config_errors(task: str, names: list[str], kwargs: dict[str, Any],
                                                        message: str) -> None:
    args: dict[str, Any] = {"y_true": Y3, "y_pred": YP3, **kwargs}
    with pytest.raises(ConfigError, match=message) as info:
        M.compute(task, names, **args)
    assert isinstance(info.value, AispecRuntimeError)


# ------------------------------------------------------------------------------------------ per class


def test_per_class_matches_classification_report() -> None:
    got = M.per_class(Y3, YP3, LABELS)
    report = skm.classification_report(Y3, YP3, labels=LABELS, output_dict=True)
    assert list(got) == LABELS
    for label in LABELS:
        assert got[label]["precision"] == approx(report[label]["precision"])
        assert got[label]["recall"] == approx(report[label]["recall"])
        assert got[label]["f1"] == approx(report[label]["f1-score"])
        assert got[label]["support"] == report[label]["support"]


# ------------------------------------------------------------------------------------ groups, fairness

SEX = pd.DataFrame({"sex": np.where(np.arange(150) % 3 == 0, "f", np.where(np.arange(150) % 3 == 1, "m", None))})


def test_per_group_classification() -> None:
    got = M.per_group(SEX, YB, YPB, task="classification")
    sex = got["sex"]
    assert sex["metrics"] == ["n", "accuracy", "f1_macro", "selection_rate"]
    assert list(sex["groups"]) == ["(missing)", "f", "m"]
    for group, mask in (("f", np.arange(150) % 3 == 0), ("(missing)", np.arange(150) % 3 == 2)):
        row = sex["groups"][group]
        assert row["n"] == mask.sum()
        assert row["accuracy"] == approx(skm.accuracy_score(YB[mask], YPB[mask]))
        assert row["f1_macro"] == approx(skm.f1_score(YB[mask], YPB[mask], average="macro"))
        assert row["selection_rate"] == approx(np.mean(YPB[mask] == "spam"))
    assert sex["overall"]["accuracy"] == approx(skm.accuracy_score(YB, YPB))
    accs = [g["accuracy"] for g in sex["groups"].values()]
    assert sex["difference"]["accuracy"] == approx(max(accs) - min(accs))


def test_per_group_regression_and_multiclass() -> None:
    groups = pd.DataFrame({"region": np.repeat(["north", "south"], 40)})
    got = M.per_group(groups, YR, PR, task="regression")["region"]
    assert got["metrics"] == ["n", "mae", "r2"]
    assert got["groups"]["north"]["mae"] == approx(skm.mean_absolute_error(YR[:40], PR[:40]))
    assert got["groups"]["south"]["r2"] == approx(skm.r2_score(YR[40:], PR[40:]))
    multi = M.per_group(SEX.iloc[:120], Y3, YP3, task="classification")["sex"]
    assert "selection_rate" not in multi["metrics"]  # only meaningful with a positive class


def test_fairness_binary_with_positive_class_equals_fairlearn() -> None:
    got = M.fairness(SEX, YB, YPB, list(M.FAIRNESS_METRICS), positive_class="spam")
    feature = SEX["sex"].fillna("(missing)").to_numpy()
    bt, bp = (YB == "spam").astype(int), (YPB == "spam").astype(int)
    assert got == {
        "demographic_parity_difference": approx(flm.demographic_parity_difference(bt, bp, sensitive_features=feature)),
        "demographic_parity_ratio": approx(flm.demographic_parity_ratio(bt, bp, sensitive_features=feature)),
        "equalized_odds_difference": approx(flm.equalized_odds_difference(bt, bp, sensitive_features=feature)),
        "equalized_odds_ratio": approx(flm.equalized_odds_ratio(bt, bp, sensitive_features=feature)),
    }


def test_fairness_multiclass_reports_the_worst_class() -> None:
    sens = SEX.iloc[:120]
    feature = sens["sex"].fillna("(missing)").to_numpy()
    got = M.fairness(sens, Y3, YP3, ["demographic_parity_difference", "equalized_odds_ratio"])
    per_class_dpd = [flm.demographic_parity_difference(np.equal(Y3, c).astype(int), np.equal(YP3, c).astype(int),
                                                       sensitive_features=feature) for c in LABELS]
    per_class_eor = [flm.equalized_odds_ratio(np.equal(Y3, c).astype(int), np.equal(YP3, c).astype(int),
                                              sensitive_features=feature) for c in LABELS]
    assert got["demographic_parity_difference"] == approx(max(per_class_dpd))
    assert got["equalized_odds_ratio"] == approx(min(per_class_eor))


def test_fairness_worst_over_several_columns() -> None:
    sens = SEX.assign(age=np.where(np.arange(150) < 75, "young", "old"))
    both = M.fairness(sens, YB, YPB, ["demographic_parity_difference"], positive_class="spam")
    one = [M.fairness(sens[[c]], YB, YPB, ["demographic_parity_difference"], positive_class="spam")
           for c in ("sex", "age")]
    assert both["demographic_parity_difference"] == max(o["demographic_parity_difference"] for o in one)
    with pytest.raises(ConfigError, match="not a fairness metric"):
        M.fairness(sens, YB, YPB, ["accuracy"])


# --------------------------------------------------------------------------------------------- latency


def test_latency_times_each_call() -> None:
    calls: list[Any] = []
    got = M.latency(calls.append, [[1.0], [2.0], [3.0]], repeat=30, warmup=5)
    assert len(calls) == 35
    assert calls[5:8] == [[1.0], [2.0], [3.0]]
    assert set(got) == {"p50_latency_ms", "p95_latency_ms", "p99_latency_ms", "mean_latency_ms", "max_latency_ms",
                        "throughput_per_s", "n_calls"}
    assert 0 <= got["p50_latency_ms"] <= got["p95_latency_ms"] <= got["p99_latency_ms"] <= got["max_latency_ms"]
    assert got["n_calls"] == 30


def test_latency_over_frame_rows() -> None:
    frame = pd.DataFrame({"a": [1.0, 2.0]})
    seen: list[int] = []
    M.latency(lambda row: seen.append(len(row)), frame, repeat=4, warmup=0)
    assert seen == [1, 1, 1, 1]
    with pytest.raises(ConfigError):
        M.latency(lambda row: row, [], repeat=3)


# ----------------------------------------------------------------------------------------------- gates


def test_gates_pass_fail_and_messages() -> None:
    report = M.check_gates(
        ["accuracy >= 0.9", "f1_macro >= 0.9", "p95_latency_ms <= 50", "mape <= 1%", "r2 > 0", "mae != 2"],
        {"accuracy": 0.95, "f1_macro": 0.84, "mape": float("nan"), "r2": 0.5, "mae": 2.0},
        locations={"metrics.acceptance.1": "spec.yaml:40:7", "metrics": "spec.yaml:38:1"},
    )
    assert not report.passed
    gates = report.gates
    assert [g["passed"] for g in gates] == [True, False, False, False, True, False]
    assert gates[1]["message"] == "f1_macro = 0.84, required >= 0.9"
    assert gates[1]["where"] == "spec.yaml:40:7"
    assert gates[0]["where"] == "spec.yaml:38:1"  # falls back to the section's location
    assert gates[2]["message"] == "p95_latency_ms was not computed, required <= 50"
    assert gates[2]["observed"] is None
    # the threshold stays as written (no rounding between the spec and the gate), and compares as 0.01
    assert gates[3]["criterion"] == "mape <= 1%" and gates[3]["threshold"] == 0.01
    assert "not a number" in gates[3]["message"]
    assert report.messages()[0] == "spec.yaml:40:7: f1_macro = 0.84, required >= 0.9"
    assert report.to_dict()["passed"] is False
    assert set(gates[0]) == {"criterion", "metric", "op", "threshold", "observed", "passed", "message", "where"}


def test_gates_all_pass_and_empty() -> None:
    assert M.check_gates(["accuracy >= 0.9", "log_loss < 1e-01"], {"accuracy": 0.9, "log_loss": 0.05}).passed
    assert M.check_gates([], {}).passed
    fair = M.check_gates(["demographic_parity_difference <= 0.1"], {"demographic_parity_difference": 0.2},
                         locations={"compliance.fairness.0": "s.yaml:3:5"}, section="compliance.fairness")
    merged = M.merge_gates(M.check_gates(["accuracy >= 0.5"], {"accuracy": 0.9}), fair)
    assert not merged.passed and len(merged.gates) == 2 and merged.gates[1]["where"] == "s.yaml:3:5"


@pytest.mark.parametrize(("text", "metric", "op", "value"), [
    ("accuracy >= 0.9", "accuracy", ">=", 0.9), ("mae<=2", "mae", "<=", 2.0), ("r2 > -0.5", "r2", ">", -0.5),
    ("x == 1e-05", "x", "==", 1e-5), ("recall != .5", "recall", "!=", 0.5), ("mape <= 5%", "mape", "<=", 0.05),
])
def test_parse_criterion(text: str, metric: str, op: str, value: float) -> None:
    crit = M.parse_criterion(text)
    assert (crit.metric, crit.op, crit.value) == (metric, op, pytest.approx(value))


def test_unreadable_criterion_is_a_config_error_with_location_and_code() -> None:
    with pytest.raises(ConfigError) as info:
        M.check_gates(["accuracy is high"], {}, locations={"metrics.acceptance.0": "spec.yaml:9:7"})
    assert info.value.where == "spec.yaml:9:7" and info.value.code == "AIS104"
    # worded as `aispec check` words it
    assert str(info.value) == ("spec.yaml:9:7: error[AIS104]: unexpected 'is' in acceptance criterion "
                               "'accuracy is high' (hint: write it like `f1_macro >= 0.9`)")


def test_positive_class_given_as_text_matches_numeric_labels() -> None:
    y, p = np.array([0, 1, 1, 0, 1]), np.array([0, 1, 0, 0, 1])
    assert M.compute("classification", ["recall"], y_true=y, y_pred=p, positive_class="1") == {"recall": approx(2 / 3)}
    with pytest.raises(ConfigError, match="positive class 'maybe' is not one of the labels: '0', '1'"):
        M.compute("classification", ["recall"], y_true=y, y_pred=p, positive_class="maybe")


def test_ranking_metric_with_one_class_present_is_nan() -> None:
    got = M.compute("classification", ["roc_auc", "average_precision"], y_true=["a", "a", "a"],
                    y_pred=["a", "b", "a"], y_score=[0.2, 0.7, 0.1], labels=["a", "b"], positive_class="b")
    assert math.isnan(got["roc_auc"]) and math.isnan(got["average_precision"])


def test_scikit_learn_value_errors_become_config_errors() -> None:
    with pytest.raises(ConfigError, match="cannot compute 'mae'"):
        M.compute("regression", ["mae"], y_true=[1.0, 2.0], y_pred=[1.0, 2.0, 3.0])
