"""aispec.runtime.preprocess: the ColumnTransformer converts to ONNX and matches scikit-learn."""

from __future__ import annotations

import importlib.util
import pickle
from typing import Any

import numpy as np
import onnxruntime as ort
import pandas as pd
import pytest
from skl2onnx import to_onnx
from skl2onnx.common.data_types import FloatTensorType, StringTensorType
from sklearn.base import clone
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from aispec.runtime import preprocess as P
from aispec.runtime.data import prepare_frame
from aispec.runtime.datasets import load_bundled
from aispec.runtime.errors import ConfigError
from aispec.runtime.split import split_frame
from aispec.runtime.text.tfidf import onnx_tokenexp

CLEANING: dict[str, Any] = {
    "deduplicate": True,
    "impute": {"numeric": "median", "categorical": "most_frequent", "text": "empty", "fill_value": None},
    "outliers": {"method": "none", "threshold": 1.5, "action": "clip"},
    "scaling": "standard", "encoding": "onehot", "max_categories": None, "imbalance": "none",
}
PENGUIN_TYPES = {"island": "categorical", "bill_length_mm": "numeric", "bill_depth_mm": "numeric",
                 "flipper_length_mm": "numeric", "body_mass_g": "numeric", "sex": "categorical"}


def _cleaning(**changes: Any) -> dict[str, Any]:
    out = {**CLEANING, **changes}
    for key in ("impute", "outliers"):
        if key in changes:
            out[key] = {**CLEANING[key], **changes[key]}
    return out


def _onnx_inputs(column_types: dict[str, str]) -> list[tuple[str, Any]]:
    return [(name, FloatTensorType([None, 1]) if kind in ("numeric", "boolean") else StringTensorType([None, 1]))
            for name, kind in column_types.items()]


def _feeds(frame: pd.DataFrame, column_types: dict[str, str]) -> dict[str, Any]:
    return {name: frame[[name]].to_numpy(np.float32) if kind in ("numeric", "boolean")
            else frame[[name]].to_numpy(object) for name, kind in column_types.items()}


def _dense(matrix: Any) -> Any:
    return matrix.toarray() if hasattr(matrix, "toarray") else np.asarray(matrix)


def assert_onnx_parity(model: Any, frame: pd.DataFrame, column_types: dict[str, str], output: int = 0) -> Any:
    """Convert ``model`` with one input per column, run onnxruntime on ``frame``, compare (atol 1e-4)."""
    onx = to_onnx(model, initial_types=_onnx_inputs(column_types), options=P.onnx_options(model))
    session = ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
    got = session.run(None, _feeds(frame, column_types))[output]
    expected = _dense(model.transform(frame)) if hasattr(model, "transform") else model.predict_proba(frame)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=1e-4, rtol=0)
    return got


@pytest.fixture(scope="module")
def penguins() -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = prepare_frame(load_bundled("palmerpenguins"), columns=None, drop=["year"], pii=[])
    split = split_frame(frame, target="species", task="classification", train=0.75, validation=0.0, test=0.25,
                        stratify=True, seed=0, time_ordered=False, time_column=None, group_column=None)
    test = split.test.copy()
    # more missing values and categories never seen in training
    test.loc[test.index[:3], "body_mass_g"] = np.nan
    test.loc[test.index[3:5], "sex"] = ""
    test.loc[test.index[5], "island"] = "Atlantis"
    return split.train, test


def test_numeric_and_categorical_with_missing_values(penguins: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    train, test = penguins
    assert train["sex"].eq("").any() and train["bill_length_mm"].isna().any()  # real missing values
    ct = P.build_preprocessor(column_types=PENGUIN_TYPES, cleaning=CLEANING, task="classification")
    ct.fit(train, train["species"])
    out = assert_onnx_parity(ct, test, PENGUIN_TYPES)
    assert out.shape[1] == 4 + 3 + 2  # 4 scaled numbers, 3 islands, 2 sexes ("" imputed)
    assert not np.isnan(out).any()
    unknown = out[list(test.index).index(test.index[5])]
    assert unknown[4:7].tolist() == [0.0, 0.0, 0.0]  # an unseen island is all zeros


@pytest.mark.parametrize("scaling", ["standard", "minmax", "robust", "none"])
@pytest.mark.parametrize("encoding", ["onehot", "ordinal", "target"])
def test_scalings_and_encodings(penguins: tuple[pd.DataFrame, pd.DataFrame], scaling: str, encoding: str) -> None:
    train, test = penguins
    ct = P.build_preprocessor(column_types=PENGUIN_TYPES, cleaning=_cleaning(scaling=scaling, encoding=encoding),
                              task="classification")
    # skl2onnx converts target encoding for binary and continuous targets only
    y = train["species"] if encoding != "target" else train["species"].eq("Adelie").map({True: "A", False: "B"})
    ct.fit(train, y)
    assert_onnx_parity(ct, test, PENGUIN_TYPES)


def test_multiclass_target_encoding_does_not_convert(penguins: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    train, _ = penguins
    ct = P.build_preprocessor(column_types=PENGUIN_TYPES, cleaning=_cleaning(encoding="target"),
                              task="classification").fit(train, train["species"])
    with pytest.raises(NotImplementedError, match="binary classification or 1d regression"):
        to_onnx(ct, initial_types=_onnx_inputs(PENGUIN_TYPES))


@pytest.mark.parametrize("impute", [
    {"numeric": "mean", "categorical": "constant", "fill_value": "unknown"},
    {"numeric": "most_frequent", "categorical": "most_frequent"},
    {"numeric": "constant", "categorical": "none", "fill_value": -1},
    {"numeric": "drop", "categorical": "drop"},
])
def test_imputations(penguins: tuple[pd.DataFrame, pd.DataFrame], impute: dict[str, Any]) -> None:
    train, test = penguins
    ct = P.build_preprocessor(column_types=PENGUIN_TYPES, cleaning=_cleaning(impute=impute), task="classification")
    ct.fit(train, train["species"])
    assert_onnx_parity(ct, test, PENGUIN_TYPES)


@pytest.mark.parametrize("encoding", ["onehot", "ordinal"])
def test_max_categories(encoding: str) -> None:
    rng = np.random.default_rng(0)
    cities = np.array(["a", "b", "c", "d", "e", "f"])
    frame = pd.DataFrame({
        "city": pd.Series(rng.choice(cities, p=[0.4, 0.3, 0.15, 0.1, 0.03, 0.02], size=300), dtype=object),
        "size": pd.Series(rng.choice(["s", "m"], size=300), dtype=object),
        "x": rng.normal(size=300),
    })
    types = {"city": "categorical", "size": "categorical", "x": "numeric"}
    ct = P.build_preprocessor(column_types=types, cleaning=_cleaning(encoding=encoding, max_categories=3),
                              task="regression")
    ct.fit(frame)
    grouper = ct.named_transformers_["categorical"].named_steps["group"]
    assert grouper.keep_ == [["a", "b"], None]  # city: top 2 + other; size has only 2 categories
    test = pd.DataFrame({"city": ["a", "b", "c", "f", "zzz", ""], "size": ["s", "m", "s", "xl", "m", "s"],
                         "x": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]}).astype({"city": object, "size": object})
    out = assert_onnx_parity(ct, test, types)
    if encoding == "onehot":
        assert out.shape[1] == 1 + 3 + 2  # x | a, b, other | m, s
        assert out[:, 1:4].tolist() == [[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 0, 1], [0, 0, 1], [1, 0, 0]]
    else:
        assert out[:, 1].tolist() == [0, 1, 2, 2, 2, 0]  # "" imputed with the most frequent ("a")
        assert out[3, 2] == -1  # an unseen size


@pytest.mark.parametrize("method,threshold", [("iqr", 1.5), ("zscore", 2.0)])
def test_outlier_clipper(method: str, threshold: float) -> None:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"a": rng.normal(10, 2, size=200), "b": rng.exponential(5, size=200),
                          "c": np.full(200, 7.0)})
    frame.loc[[0, 1], "a"] = [100.0, -80.0]
    frame.loc[5, "b"] = np.nan
    clipper = P.OutlierClipper(method=method, threshold=threshold).fit(frame)
    values = frame.to_numpy()
    if method == "iqr":
        q1, q3 = np.nanpercentile(values, 25, axis=0), np.nanpercentile(values, 75, axis=0)
        lower, upper = q1 - 1.5 * (q3 - q1), q3 + 1.5 * (q3 - q1)
    else:
        lower = np.nanmean(values, axis=0) - 2 * np.nanstd(values, axis=0)
        upper = np.nanmean(values, axis=0) + 2 * np.nanstd(values, axis=0)
    np.testing.assert_allclose(clipper.lower_, lower)
    np.testing.assert_allclose(clipper.upper_, upper)
    clipped = clipper.transform(frame)
    assert clipped[0, 0] == pytest.approx(upper[0]) and clipped[1, 0] == pytest.approx(lower[0])
    assert np.isnan(clipped[5, 1]) and (clipped[:, 2] == 7.0).all()
    assert list(clipper.get_feature_names_out()) == ["a", "b", "c"]

    types = {"a": "numeric", "b": "numeric", "c": "numeric"}
    ct = P.build_preprocessor(column_types=types, task="regression",
                              cleaning=_cleaning(outliers={"method": method, "threshold": threshold}))
    ct.fit(frame)
    assert isinstance(ct.named_transformers_["numeric"].named_steps["clip"], P.OutlierClipper)
    probe = frame.copy()
    probe.loc[2, "a"], probe.loc[3, "b"] = 1e6, -1e6  # far outside, clipped by the ONNX Max/Min too
    assert_onnx_parity(ct, probe, types)
    # action: drop leaves clipping out of the pipeline
    dropping = P.build_preprocessor(column_types=types, task="regression",
                                    cleaning=_cleaning(outliers={"method": method, "action": "drop"}))
    assert "clip" not in dropping.transformers[0][1].named_steps


def test_boolean_column() -> None:
    frame = pd.DataFrame({"flag": [1.0, 0.0, np.nan, 1.0, 1.0], "n": [1.0, 2.0, 3.0, 4.0, 5.0]})
    types = {"flag": "boolean", "n": "numeric"}
    ct = P.build_preprocessor(column_types=types, cleaning=CLEANING, task="regression").fit(frame)
    out = assert_onnx_parity(ct, frame, types)
    assert out[:, 1].tolist() == [1.0, 0.0, 1.0, 1.0, 1.0]  # numeric first, then boolean; NaN -> most frequent


def test_text_tfidf_converts() -> None:
    spam = load_bundled("sms_spam")
    spam = spam.iloc[:600]  # non-ASCII texts included (the text vectorizer's graph is exact on them)
    frame = prepare_frame(spam, columns={"text": {"type": "text"}, "label": {"type": "categorical"}}, drop=[],
                          pii=[])
    types = {"text": "text"}
    ct = P.build_preprocessor(column_types=types, cleaning=CLEANING, task="text_classification")
    ct.fit(frame.iloc[:450], frame["label"].iloc[:450])
    assert hasattr(ct.transform(frame.iloc[:2]), "toarray")  # TF-IDF stays sparse
    assert_onnx_parity(ct, frame.iloc[450:], types)
    # a whole model: preprocessing + classifier, one input per column
    model = Pipeline([("preprocess", clone(ct)), ("model", LogisticRegression(max_iter=500))])
    model.fit(frame.iloc[:450], frame["label"].iloc[:450])
    onx = to_onnx(model, initial_types=_onnx_inputs(types), options=P.onnx_options(model))
    session = ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
    labels, _probabilities = session.run(None, _feeds(frame.iloc[450:], types))
    assert labels.tolist() == model.predict(frame.iloc[450:]).tolist()


def test_text_bigrams_need_the_token_pattern() -> None:
    texts = pd.DataFrame({"t": ["call a friend now", "I am a cat", "free prize a b c", "a cat and a dog", "",
                                "Call me, a friend?"]}, dtype=object)
    ct = P.build_preprocessor(column_types={"t": "text"}, cleaning=CLEANING, task="text_classification")
    ct.set_params(text_t=TfidfVectorizer(ngram_range=(1, 2))).fit(texts)
    options = P.onnx_options(ct)
    assert list(options.values()) == [{"locale": "C.UTF-8", "tokenexp": onnx_tokenexp(r"(?u)\b\w\w+\b")}]
    assert_onnx_parity(ct, texts, {"t": "text"})


def test_datetime_features_are_numbers_but_not_onnx() -> None:
    frame = pd.DataFrame({"when": pd.to_datetime(["2024-02-29", "2023-12-31", None]), "x": [1.0, 2.0, 3.0]})
    types = {"when": "datetime", "x": "numeric"}
    ct = P.build_preprocessor(column_types=types, cleaning=_cleaning(scaling="none"), task="regression").fit(frame)
    out = ct.transform(frame)
    # numeric columns are centred on the training median (2.0) in float64, then float32 (Float32Center)
    np.testing.assert_array_equal(out[:2], [[-1.0, 2024, 2, 3], [0.0, 2023, 12, 6]])
    assert np.isnan(out[2, 1:]).all()
    assert list(ct.get_feature_names_out()) == ["numeric__x", "datetime__when_year", "datetime__when_month",
                                                "datetime__when_dayofweek"]
    with pytest.raises(RuntimeError, match="DatetimeFeatures"):  # documented: dates do not go to ONNX
        to_onnx(ct, initial_types=[("when", StringTensorType([None, 1])), ("x", FloatTensorType([None, 1]))])


def test_preprocessor_clones_and_pickles(penguins: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    train, test = penguins
    ct = P.build_preprocessor(column_types=PENGUIN_TYPES, task="classification",
                              cleaning=_cleaning(max_categories=2, outliers={"method": "iqr"}))
    ct.fit(train)
    again = pickle.loads(pickle.dumps(ct))
    np.testing.assert_array_equal(again.transform(test), ct.transform(test))
    np.testing.assert_array_equal(clone(ct).fit(train).transform(test), ct.transform(test))
    assert_onnx_parity(ct, test, PENGUIN_TYPES)


def test_builder_errors() -> None:
    with pytest.raises(ConfigError, match="image back end"):
        P.build_preprocessor(column_types={"img": "image"}, cleaning=CLEANING, task="image_classification")
    with pytest.raises(ConfigError, match="unknown scaling"):
        P.build_preprocessor(column_types={"x": "numeric"}, cleaning=_cleaning(scaling="log"), task="regression")
    with pytest.raises(ConfigError, match="not a number"):
        P.build_preprocessor(column_types={"x": "numeric"}, task="regression",
                             cleaning=_cleaning(impute={"numeric": "constant", "fill_value": "zero"}))
    with pytest.raises(ConfigError, match="no feature columns"):
        P.build_preprocessor(column_types={}, cleaning=CLEANING, task="regression")


# ---------------------------------------------------------------- frame helpers


def test_deduplicate_and_drop_outlier_rows() -> None:
    frame = pd.DataFrame({"a": [1, 1, 2, 3, 1], "b": ["x", "x", "y", "z", "x"]})
    assert P.deduplicate(frame).index.tolist() == [0, 2, 3]
    values = pd.DataFrame({"v": [10.0, 11, 9, 10, 12, 8, 10, 500, np.nan], "w": [1.0] * 8 + [-100]})
    kept = P.drop_outlier_rows(values, columns=["v"], method="iqr", threshold=1.5)
    assert kept.index.tolist() == [0, 1, 2, 3, 4, 5, 6, 8]  # 500 dropped, NaN kept
    kept = P.drop_outlier_rows(values, columns=["v", "w"], method="zscore", threshold=2.0)
    assert kept.index.tolist() == [0, 1, 2, 3, 4, 5, 6]


def test_rebalance() -> None:
    X = pd.DataFrame({"x": np.arange(12.0)}, index=np.arange(100, 112))
    y = pd.Series(["a"] * 9 + ["b"] * 3, index=X.index)
    for method in ("none", "class_weight"):
        same_X, same_y = P.rebalance(X, y, method=method, seed=0)
        assert same_X is X and same_y is y
    over_X, over_y = P.rebalance(X, y, method="oversample", seed=0)
    assert over_y.value_counts().to_dict() == {"a": 9, "b": 9}
    assert set(over_X.loc[over_y == "b", "x"]) == {9.0, 10.0, 11.0}  # only real minority rows repeated
    assert set(over_X.loc[over_y == "a", "x"]) == set(range(9))  # every majority row kept
    under_X, under_y = P.rebalance(X, y, method="undersample", seed=0)
    assert under_y.value_counts().to_dict() == {"a": 3, "b": 3} and len(under_X) == 6
    assert (under_X.index == np.arange(6)).all()
    again = P.rebalance(X, y, method="undersample", seed=0)
    assert again[0].equals(under_X) and again[1].equals(under_y)  # seeded
    assert not P.rebalance(X, y, method="undersample", seed=1)[0].equals(under_X)
    with pytest.raises(ConfigError, match="unknown imbalance"):
        P.rebalance(X, y, method="magic", seed=0)


@pytest.mark.skipif(importlib.util.find_spec("imblearn") is not None, reason="imbalanced-learn is installed")
def test_smote_needs_imblearn() -> None:
    with pytest.raises(ConfigError, match="imbalanced-learn") as info:
        P.rebalance(pd.DataFrame({"x": [1.0, 2.0]}), pd.Series(["a", "b"]), method="smote", seed=0)
    assert "pip install imbalanced-learn" in (info.value.hint or "")
