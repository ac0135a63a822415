"""Cleaning and the preprocessing ``ColumnTransformer`` of a model pipeline.

:func:`build_preprocessor` turns the spec's ``data.cleaning`` into a scikit-learn
``ColumnTransformer`` that skl2onnx converts with one ONNX input per column (numeric and boolean
columns as ``FloatTensorType([None, 1])``, categorical and text columns as
``StringTensorType([None, 1])``). The two transformers of this module that skl2onnx does not know,
:class:`OutlierClipper` and :class:`CategoryGrouper`, get their converters registered when this
module is imported (if skl2onnx is installed). Text columns need the conversion options of
:func:`onnx_options`. Datetime columns (:class:`DatetimeFeatures`) cannot be converted to ONNX:
ONNX has no date type and no date parsing; export such models after turning the dates into
numeric columns in the data.

The rest: :func:`deduplicate`, :func:`drop_outlier_rows` and :func:`rebalance` work on frames
before fitting.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from sklearn.base import (  # type: ignore[import-untyped, unused-ignore]
    BaseEstimator,
    OneToOneFeatureMixin,
    TransformerMixin,
)
from sklearn.utils.metaestimators import available_if  # type: ignore[import-untyped, unused-ignore]

from aispec.schemas.vocabulary import CLASSIFICATION

from .errors import ConfigError

__all__ = [
    "CategoryGrouper",
    "DatetimeFeatures",
    "Float32Center",
    "OutlierClipper",
    "Resampled",
    "build_preprocessor",
    "deduplicate",
    "drop_outlier_rows",
    "onnx_options",
    "rebalance",
]

OTHER = "other"
_CLASSIFICATION_TASKS = CLASSIFICATION
_SKLEARN_TOKEN_PATTERN = r"(?u)\b\w\w+\b"


# ------------------------------------------------------------------- transformers


def _bounds(X: Any, method: str, threshold: float) -> tuple[Any, Any]:
    import numpy as np

    with np.errstate(all="ignore"):
        if method == "iqr":
            q1 = np.nanpercentile(X, 25, axis=0) if X.shape[0] else np.full(X.shape[1], np.nan)
            q3 = np.nanpercentile(X, 75, axis=0) if X.shape[0] else np.full(X.shape[1], np.nan)
            spread = q3 - q1
            lower, upper = q1 - threshold * spread, q3 + threshold * spread
        elif method == "zscore":
            mean = np.nanmean(X, axis=0)
            std = np.nanstd(X, axis=0)
            lower, upper = mean - threshold * std, mean + threshold * std
        else:
            raise ConfigError(f"unknown outlier method {method!r}", hint="use iqr or zscore")
    lower = np.where(np.isnan(lower), -np.inf, lower)
    upper = np.where(np.isnan(upper), np.inf, upper)
    return lower.astype("float64"), upper.astype("float64")


class OutlierClipper(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Clip each numeric feature to bounds learnt in ``fit``.

    ``iqr``: [Q1 - threshold * IQR, Q3 + threshold * IQR]; ``zscore``: mean +- threshold * std
    (population std). NaN stays NaN. Converts to ONNX as ``Min(Max(X, lower), upper)``.
    """

    def __init__(self, method: str = "iqr", threshold: float = 1.5) -> None:
        self.method = method
        self.threshold = threshold

    def fit(self, X: Any, y: Any = None) -> OutlierClipper:
        from sklearn.utils.validation import validate_data  # type: ignore[import-untyped, unused-ignore]

        if self.method not in ("iqr", "zscore"):
            raise ConfigError(f"unknown outlier method {self.method!r}", hint="use iqr or zscore")
        if not self.threshold > 0:
            raise ConfigError(f"outlier threshold must be positive, got {self.threshold}")
        data = validate_data(self, X, dtype="float64", ensure_all_finite="allow-nan")
        self.lower_, self.upper_ = _bounds(data, self.method, float(self.threshold))
        return self

    def transform(self, X: Any) -> Any:
        import numpy as np
        from sklearn.utils.validation import check_is_fitted, validate_data  # type: ignore[import-untyped, unused-ignore]

        check_is_fitted(self, ["lower_", "upper_"])
        data = validate_data(self, X, dtype="float64", ensure_all_finite="allow-nan", reset=False)
        return np.clip(data, self.lower_, self.upper_)


class Float32Center(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Numeric features as float32, after subtracting each column's training median in float64.

    The exported model computes in float32 (onnxruntime's ML operators have no float64 kernels), so
    the pipeline does the same from its first step: the model is fitted on exactly the numbers the
    ONNX graph sees, and scikit-learn and onnxruntime agree. Centering first keeps the precision that
    float32 would lose on large magnitudes (epoch seconds: 128 s steps raw, a few seconds centred);
    the graph takes float64 inputs and does the same subtraction before its cast. NaN stays NaN.
    """

    def fit(self, X: Any, y: Any = None) -> Float32Center:
        import numpy as np
        from sklearn.utils.validation import validate_data  # type: ignore[import-untyped, unused-ignore]

        data = validate_data(self, X, dtype="float64", ensure_all_finite="allow-nan")
        with np.errstate(all="ignore"):
            center = np.nanmedian(data, axis=0) if data.shape[0] else np.zeros(data.shape[1])
        self.center_ = np.where(np.isfinite(center), center, 0.0).astype("float64")
        return self

    def transform(self, X: Any) -> Any:
        import numpy as np
        from sklearn.utils.validation import check_is_fitted, validate_data  # type: ignore[import-untyped, unused-ignore]

        check_is_fitted(self, ["center_"])
        data = validate_data(self, X, dtype="float64", ensure_all_finite="allow-nan", reset=False)
        return (data - self.center_).astype(np.float32)


class CategoryGrouper(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Keep the ``max_categories - 1`` most frequent categories of each column; the rest -> ``other``.

    Columns with at most ``max_categories`` categories are left alone (unknown values included).
    In a grouped column unseen values also become ``other``. Ties are broken by value, so the
    result is deterministic. Converts to ONNX as a string ``LabelEncoder`` per grouped column.
    """

    def __init__(self, max_categories: int | None = None, other: str = OTHER) -> None:
        self.max_categories = max_categories
        self.other = other

    def fit(self, X: Any, y: Any = None) -> CategoryGrouper:
        import numpy as np
        from sklearn.utils.validation import validate_data  # type: ignore[import-untyped, unused-ignore]

        if self.max_categories is not None and self.max_categories < 2:
            raise ConfigError(f"max_categories must be at least 2, got {self.max_categories}")
        data = validate_data(self, X, dtype=object, ensure_all_finite=False)
        self.keep_: list[list[str] | None] = []
        for j in range(data.shape[1]):
            values, counts = np.unique(data[:, j].astype(str), return_counts=True)
            if self.max_categories is None or len(values) <= self.max_categories:
                self.keep_.append(None)
                continue
            order = sorted(zip(values.tolist(), counts.tolist(), strict=True), key=lambda vc: (-vc[1], vc[0]))
            self.keep_.append(sorted(v for v, _ in order[: self.max_categories - 1]))
        return self

    def transform(self, X: Any) -> Any:
        import numpy as np
        from sklearn.utils.validation import check_is_fitted, validate_data  # type: ignore[import-untyped, unused-ignore]

        check_is_fitted(self, "keep_")
        data = validate_data(self, X, dtype=object, ensure_all_finite=False, reset=False)
        out = np.array(data, dtype=object, copy=True)
        for j, keep in enumerate(self.keep_):
            if keep is not None:
                column = out[:, j].astype(str)
                out[:, j] = np.where(np.isin(column, keep), column, self.other).astype(object)
        return out


class DatetimeFeatures(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Year, month and day of week (Monday = 0) of each datetime column, as float64 (NaN for NaT).

    Not convertible to ONNX (ONNX has no date type): a pipeline with datetime features is
    served by scikit-learn only, or the dates are turned into numeric columns before training.
    """

    PARTS = ("year", "month", "dayofweek")
    _ATTRIBUTES: ClassVar[dict[str, str]] = {"year": "year", "month": "month", "dayofweek": "day_of_week"}

    def fit(self, X: Any, y: Any = None) -> DatetimeFeatures:
        import numpy as np
        import pandas as pd  # type: ignore[import-untyped, unused-ignore]

        frame = pd.DataFrame(X)
        self.n_features_in_ = frame.shape[1]
        self.columns_ = [str(c) for c in frame.columns]
        if hasattr(X, "columns"):
            self.feature_names_in_ = np.asarray(self.columns_, dtype=object)
        return self

    def transform(self, X: Any) -> Any:
        import numpy as np
        import pandas as pd  # type: ignore[import-untyped, unused-ignore]

        frame = pd.DataFrame(X)
        parts = []
        for column in frame.columns:
            values = pd.to_datetime(frame[column], errors="coerce")
            for part in self.PARTS:
                parts.append(getattr(values.dt, self._ATTRIBUTES[part]).astype("float64").to_numpy())
        return np.column_stack(parts) if parts else np.empty((len(frame), 0))

    def get_feature_names_out(self, input_features: Any = None) -> Any:
        import numpy as np

        names = list(input_features) if input_features is not None else self.columns_
        return np.asarray([f"{c}_{p}" for c in names for p in self.PARTS], dtype=object)


# --------------------------------------------------------------------- the builder


def _numeric_imputer(strategy: str, fill_value: Any) -> Any:
    from sklearn.impute import SimpleImputer  # type: ignore[import-untyped, unused-ignore]

    if strategy == "none":
        return None
    if strategy == "drop":  # rows with missing values are removed before training; the service refuses them
        return SimpleImputer(strategy="median")
    if strategy == "constant":
        if fill_value is None:
            fill_value = 0.0
        if isinstance(fill_value, bool) or not isinstance(fill_value, (int, float)):
            raise ConfigError(f"cleaning.impute.fill_value {fill_value!r} is not a number, but numeric columns "
                              "are imputed with it", hint="give a number")
        return SimpleImputer(strategy="constant", fill_value=float(fill_value))
    if strategy in ("mean", "median", "most_frequent"):
        return SimpleImputer(strategy=strategy)
    raise ConfigError(f"unknown numeric imputation {strategy!r}")


def _categorical_imputer(strategy: str, fill_value: Any) -> Any:
    from sklearn.impute import SimpleImputer  # type: ignore[import-untyped, unused-ignore]

    if strategy == "none":
        return None  # "" stays a category of its own
    if strategy in ("most_frequent", "drop"):
        return SimpleImputer(missing_values="", strategy="most_frequent")
    if strategy == "constant":
        return SimpleImputer(missing_values="", strategy="constant",
                             fill_value="missing" if fill_value is None else str(fill_value))
    raise ConfigError(f"unknown categorical imputation {strategy!r}")


def _scaler(kind: str) -> Any:
    from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler  # type: ignore[import-untyped, unused-ignore]

    scalers: dict[str, Any] = {"standard": StandardScaler, "minmax": MinMaxScaler, "robust": RobustScaler}
    if kind == "none":
        return None
    if kind not in scalers:
        raise ConfigError(f"unknown scaling {kind!r}", hint="use standard, minmax, robust or none")
    return scalers[kind]()


def _encoder(kind: str, task: str) -> Any:
    import numpy as np
    from sklearn.preprocessing import (  # type: ignore[import-untyped, unused-ignore]
        OneHotEncoder,
        OrdinalEncoder,
        TargetEncoder,
    )

    if kind == "onehot":
        return OneHotEncoder(handle_unknown="ignore", sparse_output=False, dtype=np.float64)
    if kind == "ordinal":
        return OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1, dtype=np.float64)
    if kind == "target":
        # cross-fitting inside fit_transform must be seeded: a seeded CV splitter where scikit-learn
        # takes one (>= 1.9 deprecates shuffle/random_state), random_state before that
        if TargetEncoder().get_params().get("shuffle") == "deprecated":
            from sklearn.model_selection import KFold, StratifiedKFold  # type: ignore[import-untyped, unused-ignore]

            splitter = StratifiedKFold if task in _CLASSIFICATION_TASKS else KFold
            return TargetEncoder(cv=splitter(n_splits=5, shuffle=True, random_state=0))
        return TargetEncoder(random_state=0)  # pragma: no cover - older scikit-learn
    raise ConfigError(f"unknown encoding {kind!r}", hint="use onehot, ordinal or target")


def _chain(steps: Sequence[tuple[str, Any]]) -> Any:
    from sklearn.pipeline import Pipeline  # type: ignore[import-untyped, unused-ignore]

    kept = [(name, step) for name, step in steps if step is not None]
    return Pipeline(kept) if kept else "passthrough"


def scaler(kind: str) -> Any:
    """The scaler ``cleaning.scaling`` names (None for ``none``)."""
    return _scaler(kind)


def build_preprocessor(*, column_types: Mapping[str, str], cleaning: Mapping[str, Any], task: str,
                       scale: bool = True) -> Any:
    """The ``ColumnTransformer`` for the feature columns ``column_types`` (name -> spec type).

    - numeric: :class:`Float32Center` (float32, as the exported model computes) -> imputer
      (``cleaning.impute.numeric``; with ``drop`` the rows with a missing value are removed before
      training and the service refuses a missing value, so the median imputer kept here never sees
      one) -> :class:`OutlierClipper` when ``cleaning.outliers`` clips -> scaler (``cleaning.scaling``;
      ``none`` for trees, which the compiler resolves);
    - boolean (0.0/1.0): most-frequent imputer -> passthrough;
    - categorical (missing as ``""``): imputer -> :class:`CategoryGrouper` when
      ``max_categories`` is set -> one-hot (unknown categories ignored), ordinal (unknown -> -1)
      or target encoding (scikit-learn ``TargetEncoder``, seeded cross-fitting; skl2onnx converts
      it for binary and continuous targets only, not multiclass);
    - text: one :class:`~aispec.runtime.text.tfidf.TextVectorizer` per column (scikit-learn's TF-IDF,
      lower-cased as its ONNX graph does; output stays sparse when there is text);
    - datetime: :class:`DatetimeFeatures` (not ONNX-convertible).

    ``scale=False`` leaves scaling to the model: an ensemble scales inside the members that need it
    (``models.make_ensemble``), so that its trees see unscaled features.

    Transformer names are ``numeric``, ``boolean``, ``categorical``, ``datetime`` and
    ``text_<column>``; output columns follow that order and the order of ``column_types``.
    """
    from sklearn.compose import ColumnTransformer  # type: ignore[import-untyped, unused-ignore]
    from sklearn.impute import SimpleImputer  # type: ignore[import-untyped, unused-ignore]

    impute = dict(cleaning.get("impute") or {})
    outliers = dict(cleaning.get("outliers") or {})
    fill_value = impute.get("fill_value")
    groups: dict[str, list[str]] = {"numeric": [], "boolean": [], "categorical": [], "text": [], "datetime": []}
    for name, kind in column_types.items():
        if kind == "image":
            raise ConfigError(f"column '{name}' is an image; image columns need the image back end")
        if kind not in groups:
            raise ConfigError(f"column '{name}' has unknown type {kind!r}")
        groups[kind].append(name)

    transformers: list[tuple[str, Any, Any]] = []
    if groups["numeric"]:
        clip = None
        if outliers.get("method", "none") != "none" and outliers.get("action", "clip") == "clip":
            clip = OutlierClipper(method=str(outliers["method"]), threshold=float(outliers.get("threshold", 1.5)))
        transformers.append(("numeric", _chain([
            ("float32", Float32Center()),
            ("impute", _numeric_imputer(str(impute.get("numeric", "median")), fill_value)),
            ("clip", clip),
            ("scale", _scaler(str(cleaning.get("scaling", "standard"))) if scale else None),
        ]), groups["numeric"]))
    if groups["boolean"]:
        bool_imputer = None if impute.get("numeric") == "none" else SimpleImputer(strategy="most_frequent")
        transformers.append(("boolean", _chain([("impute", bool_imputer)]), groups["boolean"]))
    if groups["categorical"]:
        max_categories = cleaning.get("max_categories")
        transformers.append(("categorical", _chain([
            ("impute", _categorical_imputer(str(impute.get("categorical", "most_frequent")), fill_value)),
            ("group", CategoryGrouper(int(max_categories)) if max_categories else None),
            ("encode", _encoder(str(cleaning.get("encoding", "onehot")), task)),
        ]), groups["categorical"]))
    if groups["datetime"]:
        transformers.append(("datetime", DatetimeFeatures(), groups["datetime"]))
    if groups["text"]:
        from .text.tfidf import TextVectorizer

        for name in groups["text"]:
            transformers.append((f"text_{name}", TextVectorizer(), name))
    if not transformers:
        raise ConfigError("no feature columns to preprocess", hint="declare columns or features")
    return ColumnTransformer(transformers, remainder="drop", sparse_threshold=1.0 if groups["text"] else 0.0)


def onnx_options(model: Any) -> dict[int, dict[str, Any]]:
    """skl2onnx conversion options for the text vectorizers inside ``model``.

    ``{id(vectorizer): {"locale": "C.UTF-8", "tokenexp": ...}}`` for every plain ``TfidfVectorizer``
    / ``CountVectorizer`` found in pipelines and column transformers; pass it as
    ``skl2onnx.to_onnx(..., options=onnx_options(pipeline))``. With the default token pattern the
    ONNX tokenizer gets the exact RE2 form of Python's ``\\w`` (:func:`~aispec.runtime.text.tfidf.onnx_tokenexp`);
    lower-casing, ``sublinear_tf`` and n-grams can still diverge there. The
    :class:`~aispec.runtime.text.tfidf.TextVectorizer` that :func:`build_preprocessor` uses needs no
    options: its own converter writes a graph that agrees on any text.
    """
    from sklearn.feature_extraction.text import CountVectorizer  # type: ignore[import-untyped, unused-ignore]

    from .text.tfidf import TextVectorizer, onnx_tokenexp

    options: dict[int, dict[str, Any]] = {}

    def visit(obj: Any) -> None:
        if isinstance(obj, TextVectorizer):
            return
        if isinstance(obj, CountVectorizer):  # TfidfVectorizer is a CountVectorizer
            entry: dict[str, Any] = {"locale": "C.UTF-8"}
            if obj.analyzer == "word" and obj.token_pattern == _SKLEARN_TOKEN_PATTERN:
                entry["tokenexp"] = onnx_tokenexp(obj.token_pattern)
            options[id(obj)] = entry
            return
        for attr in ("steps", "transformers_", "transformers"):
            items = getattr(obj, attr, None)
            if items:
                for item in items:
                    visit(item[1] if isinstance(item, tuple) else item)
                if attr == "transformers_":
                    return

    visit(model)
    return options


# -------------------------------------------------------------------- frame helpers


def deduplicate(frame: Any) -> Any:
    """``frame`` without repeated rows (the first occurrence is kept, index labels too)."""
    try:
        return frame.drop_duplicates()
    except TypeError:  # unhashable cells: compare their text
        return frame.loc[~frame.astype(str).duplicated()]


def drop_outlier_rows(frame: Any, *, columns: Sequence[str], method: str, threshold: float) -> Any:
    """``frame`` without the rows where any of ``columns`` lies outside the iqr/zscore bounds.

    Bounds are computed on ``frame`` itself (call it on the training split); missing values never
    count as outliers.
    """
    import numpy as np

    if not columns:
        return frame
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ConfigError(f"outlier columns not in the data: {missing}")
    data = frame[list(columns)].apply(lambda s: s.astype("float64")).to_numpy()
    lower, upper = _bounds(data, method, float(threshold))
    with np.errstate(invalid="ignore"):
        outside = ((data < lower) | (data > upper)).any(axis=1)
    return frame.loc[~outside]


def rebalance(X: Any, y: Any, *, method: str, seed: int) -> tuple[Any, Any]:
    """Balance the classes of ``y``: ``oversample`` repeats minority rows (with replacement) up to
    the majority count, ``undersample`` samples every class down to the minority count (seeded,
    row order shuffled, index reset). ``none`` and ``class_weight`` (done by the estimator)
    return the data unchanged; ``smote`` needs imbalanced-learn and numeric features.
    """
    import numpy as np
    import pandas as pd  # type: ignore[import-untyped, unused-ignore]

    if method in ("none", "class_weight"):
        return X, y
    if len(X) != len(y):
        raise ConfigError(f"X has {len(X)} rows and y {len(y)}")
    if method == "smote":
        return _smote(X, y, seed)
    if method not in ("oversample", "undersample"):
        raise ConfigError(f"unknown imbalance method {method!r}",
                          hint="use none, class_weight, oversample, undersample or smote")
    rng = np.random.default_rng(seed)
    labels = pd.Series(np.asarray(y, dtype=object)).astype(str).to_numpy()
    classes, counts = np.unique(labels, return_counts=True)
    if len(classes) < 2:
        return X, y
    target = int(counts.max() if method == "oversample" else counts.min())
    chosen: list[Any] = []
    for cls, count in zip(classes, counts, strict=True):
        rows = np.flatnonzero(labels == cls)
        if method == "oversample":
            extra = rng.choice(rows, size=target - int(count), replace=True) if count < target else rows[:0]
            chosen.append(np.concatenate([rows, extra]))
        else:
            chosen.append(rng.choice(rows, size=target, replace=False))
    order = rng.permutation(np.concatenate(chosen))
    X_out = X.iloc[order].reset_index(drop=True) if hasattr(X, "iloc") else np.asarray(X)[order]
    y_out = y.iloc[order].reset_index(drop=True) if hasattr(y, "iloc") else np.asarray(y)[order]
    return X_out, y_out


class Resampled(BaseEstimator):  # type: ignore[misc]
    """A pipeline whose training rows are rebalanced (``rebalance``) every time it is fitted.

    Model selection wraps each candidate in it, so that cross-validation resamples the training folds
    only and scores every held-out fold on rows as they are: resampling before the split would put
    copies of validation rows into training and score an optimistic model. ``pipeline_`` is the
    fitted pipeline (what is exported); ``rows_in_`` / ``rows_out_`` the rows before and after.
    """

    def __init__(self, pipeline: Any = None, method: str = "none", seed: int = 0) -> None:
        self.pipeline = pipeline
        self.method = method
        self.seed = seed

    def fit(self, X: Any, y: Any = None) -> Resampled:
        from sklearn.base import clone

        X_fit, y_fit = rebalance(X, y, method=self.method, seed=self.seed) if y is not None else (X, y)
        self.pipeline_ = clone(self.pipeline).fit(X_fit, y_fit)
        self.rows_in_, self.rows_out_ = len(X), len(X_fit)
        self.classes_ = getattr(self.pipeline_, "classes_", None)
        return self

    def predict(self, X: Any) -> Any:
        return self.pipeline_.predict(X)

    @available_if(lambda self: hasattr(self.pipeline, "predict_proba"))  # type: ignore[untyped-decorator]
    def predict_proba(self, X: Any) -> Any:
        return self.pipeline_.predict_proba(X)

    @available_if(lambda self: hasattr(self.pipeline, "decision_function"))  # type: ignore[untyped-decorator]
    def decision_function(self, X: Any) -> Any:
        return self.pipeline_.decision_function(X)

    @available_if(lambda self: hasattr(self.pipeline, "score_samples"))  # type: ignore[untyped-decorator]
    def score_samples(self, X: Any) -> Any:
        return self.pipeline_.score_samples(X)

    def __getitem__(self, index: Any) -> Any:  # `pipeline[:-1]`, as scorers slice a pipeline
        return self.pipeline_[index]

    @property
    def steps(self) -> Any:
        return self.pipeline_.steps if hasattr(self, "pipeline_") else self.pipeline.steps

    @property
    def named_steps(self) -> Any:
        return self.pipeline_.named_steps if hasattr(self, "pipeline_") else self.pipeline.named_steps

    def __sklearn_tags__(self) -> Any:
        return self.pipeline.__sklearn_tags__()


def _smote(X: Any, y: Any, seed: int) -> tuple[Any, Any]:
    try:
        from imblearn.over_sampling import SMOTE  # type: ignore[import-not-found, import-untyped, unused-ignore]
    except ImportError:
        raise ConfigError("cleaning.imbalance: smote needs the imbalanced-learn package",
                          hint="pip install imbalanced-learn, or use oversample or class_weight") from None
    import pandas as pd  # type: ignore[import-untyped, unused-ignore]

    if isinstance(X, pd.DataFrame):
        non_numeric = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
        if non_numeric:
            raise ConfigError(f"smote interpolates numeric features; these are not numeric: {non_numeric}",
                              hint="use oversample for data with categorical or text features")
    try:
        X_out, y_out = SMOTE(random_state=seed).fit_resample(X, y)
    except ValueError as exc:
        raise ConfigError(f"smote failed: {exc}", hint="use oversample") from None
    return X_out, y_out


# --------------------------------------------------------------- ONNX converters


def _clipper_shape(operator: Any) -> None:
    op = operator.raw_operator
    input_type = operator.inputs[0].type
    n = input_type.shape[0] if input_type.shape else None
    operator.outputs[0].type = input_type.__class__([n, len(op.lower_)])


def _clipper_convert(scope: Any, operator: Any, container: Any) -> None:
    import numpy as np
    from onnx import TensorProto
    from skl2onnx.common.data_types import DoubleTensorType  # type: ignore[import-untyped, unused-ignore]

    op = operator.raw_operator
    double = isinstance(operator.inputs[0].type, DoubleTensorType)
    proto, dtype = (TensorProto.DOUBLE, np.float64) if double else (TensorProto.FLOAT, np.float32)
    finfo = np.finfo(dtype)
    # +-inf bounds as the largest finite numbers: identical clipping, and no inf in the model file
    lower = np.clip(op.lower_, finfo.min, finfo.max).astype(dtype)
    upper = np.clip(op.upper_, finfo.min, finfo.max).astype(dtype)
    lower_name = scope.get_unique_variable_name("clip_lower")
    upper_name = scope.get_unique_variable_name("clip_upper")
    container.add_initializer(lower_name, proto, [len(lower)], lower.tolist())
    container.add_initializer(upper_name, proto, [len(upper)], upper.tolist())
    raised = scope.get_unique_variable_name("clip_raised")
    container.add_node("Max", [operator.inputs[0].full_name, lower_name], raised,
                       name=scope.get_unique_operator_name("ClipLower"))
    container.add_node("Min", [raised, upper_name], operator.outputs[0].full_name,
                       name=scope.get_unique_operator_name("ClipUpper"))


def _center_shape(operator: Any) -> None:
    from skl2onnx.common.data_types import FloatTensorType  # type: ignore[import-untyped, unused-ignore]

    input_type = operator.inputs[0].type
    n = input_type.shape[0] if input_type.shape else None
    operator.outputs[0].type = FloatTensorType([n, len(operator.raw_operator.center_)])


def _center_parser(scope: Any, model: Any, inputs: Any, custom_parsers: Any = None) -> Any:
    """Declare the output float32 from the start: skl2onnx otherwise types a step's output like its
    input (float64 here), and the next step (the imputer) insists on matching types."""
    from skl2onnx._supported_operators import get_model_alias  # type: ignore[import-untyped, unused-ignore]
    from skl2onnx.common.data_types import FloatTensorType  # type: ignore[import-untyped, unused-ignore]

    operator = scope.declare_local_operator(get_model_alias(type(model)), model)
    operator.inputs = inputs
    operator.outputs.append(scope.declare_local_variable("centered", FloatTensorType()))
    return operator.outputs


def _center_convert(scope: Any, operator: Any, container: Any) -> None:
    from onnx import TensorProto
    from skl2onnx.common.data_types import DoubleTensorType  # type: ignore[import-untyped, unused-ignore]

    op = operator.raw_operator
    source = operator.inputs[0].full_name
    double = isinstance(operator.inputs[0].type, DoubleTensorType)
    center = scope.get_unique_variable_name("center")
    container.add_initializer(center, TensorProto.DOUBLE if double else TensorProto.FLOAT, [len(op.center_)],
                              [float(v) for v in op.center_])
    shifted = scope.get_unique_variable_name("centered")
    container.add_node("Sub", [source, center], shifted, name=scope.get_unique_operator_name("Center"))
    container.add_node("Cast", [shifted], operator.outputs[0].full_name, to=TensorProto.FLOAT,
                       name=scope.get_unique_operator_name("ToFloat32"))


def _grouper_shape(operator: Any) -> None:
    from skl2onnx.common.data_types import StringTensorType  # type: ignore[import-untyped, unused-ignore]

    op = operator.raw_operator
    input_type = operator.inputs[0].type
    n = input_type.shape[0] if input_type.shape else None
    operator.outputs[0].type = StringTensorType([n, len(op.keep_)])


def _grouper_convert(scope: Any, operator: Any, container: Any) -> None:
    from onnx import TensorProto

    op = operator.raw_operator
    source = operator.inputs[0].full_name
    output = operator.outputs[0].full_name
    if all(keep is None for keep in op.keep_):
        container.add_node("Identity", [source], output, name=scope.get_unique_operator_name("GroupNone"))
        return
    pieces: list[str] = []
    for j, keep in enumerate(op.keep_):
        index = scope.get_unique_variable_name(f"group_col{j}")
        container.add_initializer(index, TensorProto.INT64, [1], [j])
        column = scope.get_unique_variable_name(f"group_in{j}")
        container.add_node("Gather", [source, index], column, axis=1,
                           name=scope.get_unique_operator_name("GroupGather"))
        if keep is None:
            pieces.append(column)
            continue
        mapped = scope.get_unique_variable_name(f"group_out{j}")
        container.add_node("LabelEncoder", [column], mapped, op_domain="ai.onnx.ml", op_version=2,
                           keys_strings=list(keep), values_strings=list(keep), default_string=op.other,
                           name=scope.get_unique_operator_name("GroupMap"))
        pieces.append(mapped)
    container.add_node("Concat", pieces, output, axis=1, name=scope.get_unique_operator_name("GroupConcat"))


def _register_converters() -> None:
    try:
        from skl2onnx import update_registered_converter  # type: ignore[import-untyped, unused-ignore]
    except ImportError:  # pragma: no cover - skl2onnx is an optional extra
        return
    update_registered_converter(OutlierClipper, "AispecOutlierClipper", _clipper_shape, _clipper_convert)
    update_registered_converter(Float32Center, "AispecFloat32Center", _center_shape, _center_convert,
                                parser=_center_parser)
    update_registered_converter(CategoryGrouper, "AispecCategoryGrouper", _grouper_shape, _grouper_convert)


_register_converters()
