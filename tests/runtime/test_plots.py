"""aispec.runtime.plots: PNG bytes, deterministic, no global matplotlib state."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.inspection import permutation_importance
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from aispec.runtime import plots
from aispec.runtime.errors import ConfigError

PNG = b"\x89PNG\r\n\x1a\n"
RNG = np.random.default_rng(3)
LABELS = ["Adelie", "Chinstrap", "Gentoo"]
Y = np.array(LABELS)[RNG.integers(0, 3, 90)]
P = RNG.dirichlet([1, 1, 1], 90)
P[np.arange(90), [LABELS.index(v) for v in Y]] += 1.0
P /= P.sum(axis=1, keepdims=True)
YP = np.where(RNG.random(90) < 0.2, np.roll(Y, 1), Y)  # about 15 % wrong
YB = np.where(Y == "Gentoo", "yes", "no")
NOISE = RNG.normal(0, 50, 90)
SB = P[:, 2]
X = pd.DataFrame({"bill": RNG.normal(40, 5, 90), "flipper": RNG.normal(200, 10, 90), "mass": RNG.normal(4000, 500, 90)})


def size(png: bytes) -> tuple[int, int]:
    width, height = struct.unpack(">II", png[16:24])
    return width, height


CASES: dict[str, Callable[[], bytes]] = {
    "confusion_matrix": lambda: plots.confusion_matrix(Y, YP, LABELS),
    "confusion_matrix_normalized": lambda: plots.confusion_matrix(Y, YP, LABELS, normalize=True),
    "roc_multiclass": lambda: plots.roc_curve(Y, P, LABELS),
    "roc_binary_1d": lambda: plots.roc_curve(YB, SB, ["no", "yes"]),
    "roc_binary_2d": lambda: plots.roc_curve(YB, np.column_stack([1 - SB, SB]), ["no", "yes"], positive_class="yes"),
    "pr_multiclass": lambda: plots.pr_curve(Y, P, LABELS),
    "pr_binary": lambda: plots.pr_curve(YB, SB, ["no", "yes"]),
    "residuals": lambda: plots.residuals(X["mass"], X["mass"] + NOISE),
    "importance_mapping": lambda: plots.feature_importance({"bill": 0.3, "flipper": 0.5, "mass": 0.1}),
    "learning_curve": lambda: plots.learning_curve([10, 30, 60], [[0.9, 0.95], [0.92, 0.9], [0.93, 0.94]],
                                                   [[0.7, 0.72], [0.8, 0.78], [0.85, 0.86]], metric="accuracy"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_plot_is_a_deterministic_png(name: str) -> None:
    first = CASES[name]()
    second = CASES[name]()
    assert first.startswith(PNG)
    assert first == second  # same input, same bytes
    assert b"Software" not in first and b"matplotlib" not in first  # no version string in the file
    width, height = size(first)
    assert 300 <= width <= 1400 and 200 <= height <= 1300


def test_different_input_gives_different_bytes() -> None:
    assert plots.confusion_matrix(Y, YP, LABELS) != plots.confusion_matrix(Y, Y, LABELS)


def test_confusion_matrix_size_grows_with_classes() -> None:
    many = [f"c{i}" for i in range(12)]
    y = np.array(many)[RNG.integers(0, 12, 200)]
    assert size(plots.confusion_matrix(y, y, many))[0] > size(plots.confusion_matrix(Y, YP, LABELS))[0]


def test_binary_roc_from_1d_and_2d_scores_is_the_same_picture() -> None:
    assert plots.roc_curve(YB, SB, ["no", "yes"]) == plots.roc_curve(YB, np.column_stack([1 - SB, SB]), ["no", "yes"])


def test_feature_importance_sources() -> None:
    y = (X["bill"] > 40).astype(int)
    forest = RandomForestClassifier(n_estimators=10, random_state=0).fit(X, y)
    from_model = plots.feature_importance(forest)
    from_mapping = plots.feature_importance(dict(zip(X.columns, forest.feature_importances_, strict=True)))
    assert from_model == from_mapping  # names come from feature_names_in_
    pipe = Pipeline([("preprocess", StandardScaler().set_output(transform="pandas")),
                     ("model", LogisticRegression())]).fit(X, y)
    assert plots.feature_importance(pipe).startswith(PNG)  # |coef_| with the preprocessor's feature names
    perm = permutation_importance(forest, X, y, n_repeats=3, random_state=0)
    assert plots.feature_importance(perm, list(X.columns), title="Permutation importance").startswith(PNG)
    with pytest.raises(ConfigError, match="feature names"):
        plots.feature_importance(perm, ["only_one"])


def test_bad_shapes_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="columns"):
        plots.roc_curve(Y, P[:, :2], LABELS)
    with pytest.raises(ConfigError, match="training sizes"):
        plots.learning_curve([1, 2, 3], [0.1, 0.2], [0.1, 0.2, 0.3])
    with pytest.raises(ConfigError, match="two labels"):
        plots.pr_curve(Y, SB, LABELS)


def test_plots_leave_matplotlib_global_state_alone() -> None:
    code = (
        "import json, sys, matplotlib\n"
        "before = matplotlib.get_backend() if 'matplotlib.pyplot' in sys.modules else None\n"
        "from aispec.runtime import plots\n"
        "png = plots.residuals([1.0, 2.0, 3.0], [1.1, 1.9, 3.2])\n"
        "print(json.dumps({'pyplot': 'matplotlib.pyplot' in sys.modules, 'rc_font': matplotlib.rcParams['font.size'],"
        " 'png': png[:8] == b'\\x89PNG\\r\\n\\x1a\\n'}))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result == {"pyplot": False, "rc_font": 10.0, "png": True}
