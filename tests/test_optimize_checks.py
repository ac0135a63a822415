"""Check-time rules for deployment.optimize (AIS383, AIS385) and the exportable isolation forest (AIS349)."""

from __future__ import annotations

from aispec.compiler.api import check_text
from aispec.compiler.codes import BASE_EXAMPLE

PENGUINS = BASE_EXAMPLE
ANOMALY = """\
aispec: 1
project: {name: sensors}
problem: {task: anomaly_detection, target: null}
data:
  source: {kind: csv, path: sensors.csv}
  columns:
    temperature: {type: numeric}
    pressure: {type: numeric}
    vibration: {type: numeric}
    running: {type: boolean}
"""


def codes(text: str) -> list[tuple[str, str]]:
    return [(d.code, d.message) for d in check_text(text).diagnostics]


def test_int8_warns_for_families_without_matmul_weights() -> None:
    spec = PENGUINS + "model: {family: gradient_boosting}\ndeployment:\n  optimize: {quantize: int8}\n"
    assert codes(spec) == [("AIS385", "int8 quantization changes nothing for a 'gradient_boosting' model: its "
                                      "ONNX graph has no MatMul weights to quantize")]
    [d] = check_text(spec).diagnostics
    assert d.hint is not None and "int8 pays off for cnn, mlp, transfer, transformer models" in d.hint
    for family in ("logistic_regression", "svm", "knn", "naive_bayes", "decision_tree"):
        assert [c for c, _ in codes(spec.replace("gradient_boosting", family))] == ["AIS385"], family


def test_int8_is_quiet_where_it_can_pay_off_or_is_not_known_yet() -> None:
    deploy = "deployment:\n  optimize: {quantize: int8}\n"
    assert codes(PENGUINS + "model: {family: mlp}\n" + deploy) == []
    assert codes(PENGUINS + deploy) == []  # family auto: the selection may pick an MLP
    members = "model:\n  ensemble: {kind: voting, members: [random_forest, mlp]}\n"
    assert codes(PENGUINS + members + deploy) == []
    assert codes(PENGUINS + "model: {family: random_forest}\ndeployment:\n  optimize: {quantize: none}\n") == []


def test_int8_over_auto_candidates_without_an_mlp_warns() -> None:
    spec = (PENGUINS + "model: {family: auto, candidates: [random_forest, knn]}\n"
            "deployment:\n  optimize: {quantize: int8}\n")
    assert [c for c, _ in codes(spec)] == ["AIS385"]
    assert "any of the candidates" in codes(spec)[0][1]
    assert codes(spec.replace("knn]", "mlp]")) == []


def test_fp16_stays_an_error_for_scikit_learn() -> None:
    spec = PENGUINS + "model: {family: mlp}\ndeployment:\n  optimize: {quantize: fp16}\n"
    assert [c for c, _ in codes(spec)] == ["AIS383"]


def test_fp16_is_an_error_for_networks_too_since_no_back_end_exports_half_precision() -> None:
    """A torch network asking for fp16 used to check clean and then serve float32 (the run's report said so in
    scikit-learn's words): check says it, where the user wrote it."""
    for backend in ("torch", "keras"):
        spec = (PENGUINS + f"model: {{family: mlp, backend: {backend}}}\n"
                "deployment:\n  optimize: {quantize: fp16}\n")
        assert "AIS383" in [c for c, _ in codes(spec)], backend


def test_isolation_forest_subsampling_features_cannot_be_deployed() -> None:
    fixed = ANOMALY + "model:\n  family: isolation_forest\n  params: {max_features: 0.5}\n"
    assert codes(fixed) == [("AIS349", "an isolation forest with max_features 0.5 cannot be exported to ONNX, and "
                                       "deployment.target 'rest' runs the ONNX model")]
    assert codes(fixed + "deployment: {target: none}\n") == []  # nothing to export: the report says why
    assert codes(fixed.replace("0.5", "1.0")) == []
    # a count: fine only when it is every column the forest sees (4 numeric and boolean columns here)
    assert codes(fixed.replace("0.5", "4")) == []
    assert [c for c, _ in codes(fixed.replace("0.5", "3"))] == ["AIS349"]


def test_isolation_forest_search_spaces_that_subsample_features() -> None:
    base = ANOMALY + "model:\n  family: isolation_forest\n  search:\n    method: random\n    space:\n"
    for space in ("max_features: uniform(0.5, 1.0)", "max_features: int(2, 4)", "max_features: choice(0.8, 1.0)"):
        assert [c for c, _ in codes(base + f"      {space}\n")] == ["AIS349"], space
    assert codes(base + "      max_samples: choice(0.5, 1.0)\n") == []
    assert codes(base + "      max_features: choice(1.0)\n") == []
    # random forests subsample features and export fine
    forest = PENGUINS + "model:\n  family: random_forest\n  params: {max_features: 0.5}\n"
    assert codes(forest) == []
