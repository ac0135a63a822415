"""aispec.runtime.text.augment: perturbed copies of training rows, seeded, training rows only."""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import StratifiedKFold, cross_val_score

from aispec.runtime import workflow
from aispec.runtime.data import DataReport
from aispec.runtime.datasets import load_bundled
from aispec.runtime.errors import ConfigError
from aispec.runtime.preprocess import build_preprocessor
from aispec.runtime.split import split_frame
from aispec.runtime.text.augment import Augmented, Counts, TextAugmentation, augment, from_spec, perturb
from aispec.runtime.text.synonyms import GROUPS, SYNONYMS

CLEANING: dict[str, Any] = {
    "deduplicate": True, "impute": {"numeric": "median", "categorical": "most_frequent", "text": "empty",
                                    "fill_value": None},
    "outliers": {"method": "none", "threshold": 1.5, "action": "clip"}, "scaling": "standard", "encoding": "onehot",
    "max_categories": None, "imbalance": "none",
}


@pytest.fixture(scope="module")
def sms() -> pd.DataFrame:
    return load_bundled("sms_spam").iloc[:800].reset_index(drop=True)


def test_synonym_list_is_symmetric_lower_case_and_one_group_per_word() -> None:
    words = [w for group in GROUPS for w in group]
    assert len(words) == len(set(words)), [w for w, n in Counter(words).items() if n > 1]
    assert all(w == w.lower() and len(w) > 1 and w.isalnum() for w in words)
    for word, others in SYNONYMS.items():
        assert word not in others and all(word in SYNONYMS[o] for o in others)


def test_copies_count_and_spread(sms: pd.DataFrame) -> None:
    """round((factor - 1) x n) copies; every row copied floor or ceil of (factor - 1) times."""
    X, y = sms[["text"]], sms["label"]
    for factor in (1.5, 2.0, 3.25):
        settings = TextAugmentation(("text",), 0.1, 0.1, factor, seed=1)
        X_out, y_out, counts = augment(X, y, settings)
        extra = round((factor - 1) * len(X))
        assert len(X_out) == len(y_out) == len(X) + extra == len(X) + counts.copies
        assert X_out.iloc[:len(X)]["text"].tolist() == X["text"].tolist()  # the originals come first, unchanged
        assert y_out.iloc[len(X):].value_counts().sum() == extra
    # the copies' labels are their sources' labels: every copy's words come from one row with its label
    settings = TextAugmentation(("text",), 0.0, 0.2, 2.0, seed=3)
    X_out, y_out, _ = augment(X, y, settings)
    for text, label in zip(X_out["text"].iloc[len(X):], y_out.iloc[len(X):], strict=True):
        sources = [i for i, t in enumerate(X["text"]) if set(text.split()) <= set(t.split())]
        assert any(y.iloc[i] == label for i in sources)


def test_same_seed_same_copies_other_seed_other_copies(sms: pd.DataFrame) -> None:
    X, y = sms[["text"]], sms["label"]
    one = augment(X, y, TextAugmentation(("text",), 0.2, 0.1, 1.5, seed=7))[0]
    two = augment(X, y, TextAugmentation(("text",), 0.2, 0.1, 1.5, seed=7))[0]
    other = augment(X, y, TextAugmentation(("text",), 0.2, 0.1, 1.5, seed=8))[0]
    assert one.equals(two) and not one.equals(other)


def test_deletion_rate_is_the_asked_probability(sms: pd.DataFrame) -> None:
    """Deleted share of words within 4 standard deviations of p (binomial)."""
    p = 0.3
    counts = Counts()
    rng = np.random.default_rng(0)
    settings = TextAugmentation(("text",), 0.0, p, 2.0)
    for text in sms["text"]:
        perturb(text, settings, rng, counts)
    sigma = math.sqrt(counts.words * p * (1 - p))
    assert abs(counts.deleted - p * counts.words) < 4 * sigma + 800 * 0.01  # (+ texts whose last word was kept)


def test_swaps_use_the_synonym_list_and_keep_case_and_punctuation() -> None:
    settings = TextAugmentation(("text",), 1.0, 0.0, 2.0)
    rng = np.random.default_rng(0)
    text = "Please CALL me Tomorrow, it's URGENT! Thanks... big prize"
    out = perturb(text, settings, rng, Counts())
    words, swapped = text.split(), out.split()
    assert len(words) == len(swapped)
    for before, after in zip(words, swapped, strict=True):
        core = re.sub(r"^\W+|\W+$", "", before)
        if core.lower() in SYNONYMS:
            new = re.sub(r"^\W+|\W+$", "", after)
            assert new.lower() in SYNONYMS[core.lower()]
            assert after.replace(new, core) == before  # punctuation around the word kept
            assert (new.isupper() == core.isupper()) and (new[0].isupper() == core[0].isupper())
        else:
            assert after == before
    assert perturb("", settings, rng, Counts()) == ""


def test_validation_folds_are_never_augmented(sms: pd.DataFrame) -> None:
    """Cross-validation of an Augmented candidate: each fit sees its training fold plus copies, each
    validation fold is scored on its rows as they are."""
    seen: list[tuple[str, int]] = []

    class Recorder(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
        def fit(self, X: Any, y: Any) -> Any:
            seen.append(("fit", len(X)))
            self.classes_ = np.unique(y)
            return self

        def predict(self, X: Any) -> Any:
            seen.append(("predict", len(X)))
            return np.full(len(X), self.classes_[0])

    X, y = sms[["text"]], sms["label"]
    settings = TextAugmentation(("text",), 0.1, 0.1, 1.5, seed=0)
    cross_val_score(Augmented(Recorder(), settings), X, y, cv=StratifiedKFold(4), scoring="accuracy")
    assert [n for kind, n in seen if kind == "fit"] == [round(1.5 * 600)] * 4
    assert [n for kind, n in seen if kind == "predict"] == [200] * 4


def test_workflow_augments_the_training_split_only_and_records_it(sms: pd.DataFrame) -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    split = split_frame(sms, target="label", task="text_classification", train=0.75, validation=0.0, test=0.25,
                        stratify=True, seed=0, time_ordered=False, time_column=None, group_column=None)
    test_before = split.test.copy()
    report = DataReport(n_rows=len(sms), n_columns=2, columns={})
    fitted: list[int] = []

    def build(params: dict[str, Any] | None) -> Any:
        pipeline = Pipeline([("preprocess", build_preprocessor(column_types={"text": "text"}, cleaning=CLEANING,
                                                                task="text_classification")),
                             ("model", LogisticRegression(max_iter=500, **(params or {})))])
        original = pipeline.fit

        def fit(X: Any, y: Any) -> Any:
            fitted.append(len(X))
            return original(X, y)

        pipeline.fit = fit  # type: ignore[method-assign]
        return pipeline

    augmentation = {"text": {"synonym_swap": 0.1, "random_deletion": 0.1}, "factor": 2.0}
    trained = workflow.train(build, split, features=["text"], target="label", task="text_classification",
                             scoring="f1_macro", seed=0, feature_types={"text": "text"}, report=report,
                             augmentation=augmentation)
    assert fitted == [2 * len(split.train)]
    [step] = [r for r in report.rows if r.step == "augmentation"]
    assert (step.rows_in, step.rows_out, step.part) == (len(split.train), 2 * len(split.train), "train")
    assert "synonym_swap 0.1, random_deletion 0.1, factor 2" in step.detail
    assert split.test.equals(test_before)
    assert trained.pipeline.predict(split.test[["text"]]).shape == (len(split.test),)


def test_no_text_column_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="no feature column is text"):
        from_spec({"text": {"random_deletion": 0.1}, "factor": 2.0}, {"x": "numeric"}, 0)
    assert from_spec(None, {"text": "text"}, 0) is None
    assert from_spec({"image": {"flip": "horizontal"}, "factor": 2.0}, {"text": "text"}, 0) is None
