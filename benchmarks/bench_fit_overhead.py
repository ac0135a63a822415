"""Fit time of a generated pipeline against the same model written by hand (target: within 1.2x).

Run: python benchmarks/bench_fit_overhead.py

Both fit the same preprocessing (median / most-frequent imputation, standard scaling, one-hot
encoding) and the same estimator on the same training split of palmerpenguins; the median of several
fits is compared.
"""

from __future__ import annotations

import importlib
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from aispec.compiler.build import build

SPEC = """\
aispec: 1
project: {name: bench-fit}
problem: {task: classification, target: species}
data:
  source: {kind: bundled, name: palmerpenguins}
  columns:
    species: categorical
    island: categorical
    bill_length_mm: {type: numeric, nullable: true}
    bill_depth_mm: {type: numeric, nullable: true}
    flipper_length_mm: {type: numeric, nullable: true}
    body_mass_g: {type: numeric, nullable: true}
    sex: {type: categorical, nullable: true}
    year: numeric
  drop: [year]
  cleaning: {deduplicate: false, scaling: standard, encoding: onehot}
  split: {train: 0.8, test: 0.2, seed: 0}
model:
  family: {family}
  params: {params}
"""

CASES = {
    "random_forest": ("{n_estimators: 300}", "RandomForestClassifier(n_estimators=300, random_state=0, n_jobs=1)"),
    "logistic_regression": ("{C: 1.0}", "LogisticRegression(C=1.0, max_iter=1000, random_state=0)"),
    "gradient_boosting": ("{max_iter: 200}", "HistGradientBoostingClassifier(max_iter=200, random_state=0)"),
}


def hand_written(estimator: str) -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier  # noqa: F401
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression  # noqa: F401
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
    categorical = ["island", "sex"]
    pre = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
        ("cat", make_pipeline(SimpleImputer(strategy="most_frequent", missing_values=""),
                              OneHotEncoder(handle_unknown="ignore")), categorical),
    ])
    return Pipeline([("preprocess", pre), ("model", eval(estimator))])  # constant text from CASES above


def median_fit(make: Any, X: Any, y: Any, runs: int = 7) -> float:
    times = []
    for _ in range(runs):
        pipeline = make()
        start = time.perf_counter()
        pipeline.fit(X, y)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for family, (params, estimator) in CASES.items():
            spec = Path(tmp) / f"{family}.yaml"
            spec.write_text(SPEC.replace("{family}", family).replace("{params}", params))
            out = Path(tmp) / family
            result = build(spec, out)
            assert result.ok, result.diagnostics
            sys.path.insert(0, str(out))
            for name in [m for m in sys.modules if m == "bench_fit" or m.startswith("bench_fit.")]:
                del sys.modules[name]
            data = importlib.import_module("bench_fit.data")
            features = importlib.import_module("bench_fit.features")
            model = importlib.import_module("bench_fit.model")
            splits = data.split_data(data.prepare(data.load()))
            X, y = splits.train[features.FEATURES], splits.train["species"]
            generated = median_fit(model.build_pipeline, X, y)
            by_hand = median_fit(lambda e=estimator: hand_written(e), X, y)
            sys.path.remove(str(out))
            print(f"{family:<20} generated {generated * 1000:7.1f} ms   by hand {by_hand * 1000:7.1f} ms   "
                  f"ratio {generated / by_hand:.2f} (target <= 1.2)")


if __name__ == "__main__":
    main()
