"""``data.augmentation.text``: perturbed copies of training rows, for the training split only.

- ``random_deletion`` p: each word of a copy is deleted with probability p (one word is kept when
  all would go), as in EDA (Wei and Zou, 2019).
- ``synonym_swap`` p: each word of a copy that has synonyms in :mod:`.synonyms` (a hand-written
  English list: nothing is downloaded) is replaced by one of them with probability p, keeping its
  capitals and the punctuation around it.
- ``factor`` f: the training rows become round(f × n): the n rows as they are, plus
  round((f − 1) × n) perturbed copies, each row copied as evenly as the count allows (rows drawn
  in a seeded order). ``factor: 1`` adds nothing (``aispec check`` warns, AIS335).

Words are the text split at white space; a perturbed text is its words joined by single spaces. The
same seed gives the same copies. Every text feature column of a copy is perturbed; the other
columns and the target are copied unchanged.

Augmentation happens wherever a model is fitted on training rows: :class:`Augmented` wraps each
candidate of a search so that only its training folds are augmented (a copy of a validation row in
a training fold would score an optimistic model), and the workflow augments the final fit's rows,
recording the rows added in the data report.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sklearn.base import BaseEstimator  # type: ignore[import-untyped, unused-ignore]
from sklearn.utils.metaestimators import available_if  # type: ignore[import-untyped, unused-ignore]

from ..errors import ConfigError
from .synonyms import SYNONYMS

__all__ = ["Augmented", "Counts", "TextAugmentation", "augment", "from_spec", "perturb", "wrap"]

_EDGES = re.compile(r"^(\W*)(.*?)(\W*)$", re.DOTALL)


@dataclass(frozen=True, slots=True)
class TextAugmentation:
    """What to do to which columns (``data.augmentation`` and the text feature columns)."""

    columns: tuple[str, ...]
    synonym_swap: float = 0.0
    random_deletion: float = 0.0
    factor: float = 1.0
    seed: int = 0

    def describe(self) -> str:
        parts = [f"{name} {value:g}" for name, value in (("synonym_swap", self.synonym_swap),
                                                           ("random_deletion", self.random_deletion)) if value]
        return f"data.augmentation.text: {', '.join(parts) or 'nothing'}, factor {self.factor:g}"


@dataclass(slots=True)
class Counts:
    """What one augmentation did: copies added, words seen, swapped and deleted in them."""

    copies: int = 0
    words: int = 0
    swapped: int = 0
    deleted: int = 0

    def describe(self) -> str:
        return (f"{self.copies:,} perturbed copies: {self.swapped:,} of {self.words:,} words swapped for a synonym, "
                f"{self.deleted:,} deleted")


def from_spec(augmentation: Mapping[str, Any] | None, feature_types: Mapping[str, str],
              seed: int) -> TextAugmentation | None:
    """The spec's ``data.augmentation`` as a :class:`TextAugmentation`; None when it asks for no text
    augmentation. ConfigError when it does but no feature column is text."""
    text = (augmentation or {}).get("text")
    if not text:
        return None
    columns = tuple(name for name, kind in feature_types.items() if kind == "text")
    if not columns:
        raise ConfigError("data.augmentation.text: no feature column is text, so there is nothing to augment",
                          hint="remove data.augmentation.text, or declare the text column with type: text")
    return TextAugmentation(columns, float(text.get("synonym_swap", 0.0)), float(text.get("random_deletion", 0.0)),
                            float((augmentation or {}).get("factor", 1.0)), int(seed))


def _cased(word: str, like: str) -> str:
    if len(like) > 1 and like.isupper():
        return word.upper()
    if like[:1].isupper():
        return word[:1].upper() + word[1:]
    return word


def perturb(text: str, settings: TextAugmentation, rng: Any, counts: Counts) -> str:
    """``text`` with words swapped for synonyms and deleted, drawing from ``rng`` (numpy Generator)."""
    words = text.split()
    if not words:
        return text
    out: list[str] = []
    for word in words:
        counts.words += 1
        if settings.random_deletion and rng.random() < settings.random_deletion:
            counts.deleted += 1
            continue
        if settings.synonym_swap:
            match = _EDGES.match(word)
            assert match is not None  # the pattern matches any text
            before, core, after = match.groups()
            others = SYNONYMS.get(core.lower())
            if others and rng.random() < settings.synonym_swap:
                counts.swapped += 1
                word = before + _cased(others[int(rng.integers(len(others)))], core) + after
        out.append(word)
    if not out:  # every word drawn for deletion: keep one, as EDA does
        counts.deleted -= 1
        out.append(words[int(rng.integers(len(words)))])
    return " ".join(out)


def augment(X: Any, y: Any, settings: TextAugmentation) -> tuple[Any, Any, Counts]:
    """``X`` and ``y`` (a DataFrame and its labels) followed by the perturbed copies; the index is reset."""
    import numpy as np
    import pandas as pd  # type: ignore[import-untyped, unused-ignore]

    n = len(X)
    extra = round((settings.factor - 1.0) * n)
    counts = Counts()
    if extra <= 0 or n == 0:
        return X, y, counts
    rng = np.random.default_rng(settings.seed)
    # every row once per round, in a new seeded order each round: copies spread as evenly as possible
    rounds = -(-extra // n)
    sources = np.concatenate([rng.permutation(n) for _ in range(rounds)])[:extra]
    copies = X.iloc[sources].copy()
    for column in settings.columns:
        values = copies[column].tolist()
        copies[column] = [perturb(v, settings, rng, counts) if isinstance(v, str) else v for v in values]
    counts.copies = extra
    X_out = pd.concat([X, copies], ignore_index=True)
    y_out = None
    if y is not None:
        labels = y.iloc[sources] if hasattr(y, "iloc") else np.asarray(y)[sources]
        y_out = pd.concat([pd.Series(y).reset_index(drop=True), pd.Series(labels).reset_index(drop=True)],
                          ignore_index=True).rename(getattr(y, "name", None))
    return X_out, y_out, counts


class Augmented(BaseEstimator):  # type: ignore[misc]
    """An estimator whose training rows are augmented (:func:`augment`) each time it is fitted.

    A search wraps every candidate in it, so cross-validation augments the training folds only and
    scores each held-out fold on rows as they are. ``estimator_``: the fitted estimator.
    """

    def __init__(self, estimator: Any = None, settings: TextAugmentation | None = None) -> None:
        self.estimator = estimator
        self.settings = settings

    def fit(self, X: Any, y: Any = None, **fit_params: Any) -> Augmented:
        """Fit a clone of ``estimator`` on ``X``, ``y`` and their perturbed copies; ``fit_params`` go to its fit
        (a network's validation rows and run context)."""
        from sklearn.base import clone

        assert self.settings is not None
        X_fit, y_fit, self.counts_ = augment(X, y, self.settings)
        self.estimator_ = clone(self.estimator).fit(X_fit, y_fit, **fit_params)
        self.classes_ = getattr(self.estimator_, "classes_", None)
        return self

    def predict(self, X: Any) -> Any:
        return self.estimator_.predict(X)

    @available_if(lambda self: hasattr(self.estimator, "predict_proba"))  # type: ignore[untyped-decorator]
    def predict_proba(self, X: Any) -> Any:
        return self.estimator_.predict_proba(X)

    @available_if(lambda self: hasattr(self.estimator, "decision_function"))  # type: ignore[untyped-decorator]
    def decision_function(self, X: Any) -> Any:
        return self.estimator_.decision_function(X)

    def __sklearn_tags__(self) -> Any:
        return self.estimator.__sklearn_tags__()


def wrap(make: Callable[[Any], Any], settings: TextAugmentation | None) -> Callable[[Any], Any]:
    """``make`` (a candidate builder) whose candidates augment their training rows; ``make`` itself when
    there is nothing to augment."""
    if settings is None:
        return make

    def build(arg: Any) -> Any:
        return Augmented(make(arg), settings)

    return build
