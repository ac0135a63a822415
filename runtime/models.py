"""scikit-learn estimators for the model families of ``schemas/vocabulary.py``.

``make_estimator(family, task=..., params=..., seed=...)`` builds the estimator a spec's
``model.family`` / ``model.params`` describe; ``make_ensemble`` builds voting and stacking
ensembles of such estimators; ``default_space`` is the compact search space ``family: auto`` and
a ``model.search`` without a ``space`` tune.

Variants by task:

====================  ==================================================================
classification,       the classifier (``text_classification`` and ``image_classification``
text / image          use it too, except ``naive_bayes`` on text: ``MultinomialNB``)
regression,           the regressor
forecasting
clustering            ``kmeans`` KMeans, ``dbscan`` DBSCAN, ``agglomerative``
                      AgglomerativeClustering, ``gaussian_mixture`` GaussianMixture
anomaly_detection     ``isolation_forest``, ``one_class_svm``, ``local_outlier_factor``
                      (``novelty=True``: it scores new rows)
====================  ==================================================================

Defaults that differ from scikit-learn's (a spec's ``params`` override every one of them):

- ``random_state=seed`` wherever the estimator takes one; ``n_jobs=1`` wherever it takes one, so
  that timings are reproducible and a search does not oversubscribe the machine.
- ``logistic_regression``: ``max_iter=1000`` (lbfgs often needs more than 100 iterations).
- ``svm`` (classifiers): probabilities are on. scikit-learn 1.9 deprecates
  ``SVC(probability=True)`` (removed in 1.11) in favour of ``CalibratedClassifierCV(SVC(),
  ensemble=False)``, which is what is returned: the same Platt scaling over 5 folds, with
  ``predict`` consistent with ``predict_proba``; it converts to ONNX. ``probability: false``
  gives a bare ``SVC`` (faster, no ``predict_proba``).
- ``mlp``: ``max_iter=500`` and ``early_stopping=False``. The vocabulary's network-shape words
  ``hidden_units`` and ``layers`` become ``hidden_layer_sizes=(hidden_units,) * layers``;
  ``dropout`` and ``batch_norm`` have no scikit-learn meaning (ConfigError: use torch/keras).
- ``gradient_boosting`` is ``HistGradientBoostingClassifier`` / ``HistGradientBoostingRegressor``.
- ``xgboost`` / ``lightgbm``: XGBoost's and LightGBM's scikit-learn estimators as subclassed in
  ``runtime.boosting`` (labels as they are, early stopping on the validation split, ONNX through
  onnxmltools), starting from the defaults their family record types (written out), quiet, one thread.
  Their libraries are imported only here, when the family is built; missing, they are a ConfigError
  (AIS420, :func:`require`) naming the family and ``pip install 'aispec[gbm]'``.
- ``logistic_regression`` ``penalty``: scikit-learn 1.8 deprecates it; it is translated to
  ``l1_ratio`` / ``C`` (``l1`` and ``elasticnet`` pick the ``saga`` solver unless one is given).

Parameters: every parameter the vocabulary lists for the family that the task's variant takes,
plus any native parameter of that scikit-learn estimator (for XGBoost and LightGBM, which take most as
``**kwargs``: those of ``get_params()`` and the record's typed ones). A vocabulary parameter the variant does
not take (``class_weight`` on a regressor, ``epsilon`` on a classifier) or a name nobody knows is a
ConfigError naming the family and the parameter; invalid values are caught at construction.
``parameters(family, task)`` lists what a variant accepts.

ONNX: every classifier, regressor and anomaly detector built here, and ``kmeans`` and
``gaussian_mixture``, convert with skl2onnx behind a ``StandardScaler`` (tests/runtime/test_models.py
converts each one; ``HistGradientBoosting*`` needs ``protobuf<7``). ``dbscan`` and
``agglomerative`` have no ``predict``: they label the rows they were fitted on and cannot score
new rows, so they cannot be served or exported; serve their ``labels_`` (or a nearest-neighbour
classifier trained on them) instead.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from aispec.runtime.errors import ConfigError
from aispec.schemas.vocabulary import CLASSIFICATION, FAMILIES, REGRESSION, Backend, Task

if TYPE_CHECKING:
    from aispec.runtime.search import Distribution

__all__ = [
    "CLASSIFICATION",
    "REGRESSION",
    "default_space",
    "make_ensemble",
    "make_estimator",
    "parameters",
    "sklearn_families",
    "variant",
]


# (module, class) per family and variant; variants: classifier, regressor, text (classifier on
# text), cluster, anomaly.
_CLASSES: dict[str, dict[str, tuple[str, str]]] = {
    "logistic_regression": {"classifier": ("sklearn.linear_model", "LogisticRegression")},
    "linear": {"regressor": ("sklearn.linear_model", "LinearRegression")},
    "ridge": {"classifier": ("sklearn.linear_model", "RidgeClassifier"),
              "regressor": ("sklearn.linear_model", "Ridge")},
    "lasso": {"regressor": ("sklearn.linear_model", "Lasso")},
    "elastic_net": {"regressor": ("sklearn.linear_model", "ElasticNet")},
    "decision_tree": {"classifier": ("sklearn.tree", "DecisionTreeClassifier"),
                      "regressor": ("sklearn.tree", "DecisionTreeRegressor")},
    "random_forest": {"classifier": ("sklearn.ensemble", "RandomForestClassifier"),
                      "regressor": ("sklearn.ensemble", "RandomForestRegressor")},
    "extra_trees": {"classifier": ("sklearn.ensemble", "ExtraTreesClassifier"),
                    "regressor": ("sklearn.ensemble", "ExtraTreesRegressor")},
    "gradient_boosting": {"classifier": ("sklearn.ensemble", "HistGradientBoostingClassifier"),
                          "regressor": ("sklearn.ensemble", "HistGradientBoostingRegressor")},
    # the libraries' scikit-learn estimators, with labels, early stopping and ONNX (runtime/boosting)
    "xgboost": {"classifier": ("aispec.runtime.boosting.xgb", "XGBClassifier"),
                "regressor": ("aispec.runtime.boosting.xgb", "XGBRegressor")},
    "lightgbm": {"classifier": ("aispec.runtime.boosting.lgbm", "LGBMClassifier"),
                 "regressor": ("aispec.runtime.boosting.lgbm", "LGBMRegressor")},
    "svm": {"classifier": ("sklearn.svm", "SVC"), "regressor": ("sklearn.svm", "SVR")},
    "knn": {"classifier": ("sklearn.neighbors", "KNeighborsClassifier"),
            "regressor": ("sklearn.neighbors", "KNeighborsRegressor")},
    "naive_bayes": {"classifier": ("sklearn.naive_bayes", "GaussianNB"),
                    "text": ("sklearn.naive_bayes", "MultinomialNB")},
    "mlp": {"classifier": ("sklearn.neural_network", "MLPClassifier"),
            "regressor": ("sklearn.neural_network", "MLPRegressor")},
    "kmeans": {"cluster": ("sklearn.cluster", "KMeans")},
    "dbscan": {"cluster": ("sklearn.cluster", "DBSCAN")},
    "agglomerative": {"cluster": ("sklearn.cluster", "AgglomerativeClustering")},
    "gaussian_mixture": {"cluster": ("sklearn.mixture", "GaussianMixture")},
    "isolation_forest": {"anomaly": ("sklearn.ensemble", "IsolationForest")},
    "one_class_svm": {"anomaly": ("sklearn.svm", "OneClassSVM")},
    "local_outlier_factor": {"anomaly": ("sklearn.neighbors", "LocalOutlierFactor")},
}

# Defaults that differ from scikit-learn's (random_state and n_jobs are added generically).
_DEFAULTS: dict[tuple[str, str], dict[str, Any]] = {
    ("logistic_regression", "classifier"): {"max_iter": 1000},
    ("mlp", "classifier"): {"max_iter": 500, "early_stopping": False},
    ("mlp", "regressor"): {"max_iter": 500, "early_stopping": False},
    ("local_outlier_factor", "anomaly"): {"novelty": True},
}

# Families without predict(): they cannot score new rows (no serving, no ONNX).
NO_PREDICT = frozenset(name for name, family in FAMILIES.items() if not family.predicts)

# Estimators where n_jobs actually parallelises fitting or prediction.
_N_JOBS = frozenset({"RandomForestClassifier", "RandomForestRegressor", "ExtraTreesClassifier",
                     "ExtraTreesRegressor", "KNeighborsClassifier", "KNeighborsRegressor",
                     "IsolationForest", "LocalOutlierFactor", "LinearRegression", "XGBClassifier", "XGBRegressor",
                     "LGBMClassifier", "LGBMRegressor"})
# Quiet libraries: the run's own progress is what the user reads.
_QUIET = {"xgboost": {"verbosity": 0}, "lightgbm": {"verbose": -1}}

def scale_invariant(estimator: Any) -> bool:
    """Whether ``estimator`` is a tree model of a family whose record says scaling changes nothing
    (``auto`` builds such candidates without a scaler, as the compiler resolves a tree's spec)."""
    inner = getattr(estimator, "estimator", estimator)  # the SVC inside a calibrated svm
    name = type(inner).__name__
    for family, kinds in _CLASSES.items():
        if family in FAMILIES and FAMILIES[family].scale_invariant and any(cls == name for _, cls in kinds.values()):
            return True
    return False


def parallel_estimator(estimator: Any) -> bool:
    """Whether ``n_jobs`` really parallelises this estimator (``hardware.cpus`` sets it there only)."""
    return type(estimator).__name__ in _N_JOBS and "n_jobs" in estimator.get_params()


# Vocabulary words that are translated rather than passed through.
_MLP_SHAPE = ("hidden_units", "layers")
_DEEP_ONLY = ("dropout", "batch_norm")


def _task(task: str | Task) -> Task:
    try:
        return Task(task)
    except ValueError:
        raise ConfigError(f"unknown task '{task}'", hint=f"tasks: {', '.join(t.value for t in Task)}") from None


def sklearn_families(task: str | Task) -> list[str]:
    """The scikit-learn families of the vocabulary that fit ``task`` (``auto`` left out)."""
    t = _task(task)
    return [name for name, fam in FAMILIES.items()
            if name != "auto" and Backend.sklearn in fam.backends and t in fam.tasks and name in _CLASSES]


def variant(family: str, task: str | Task) -> str:
    """Which variant of ``family`` serves ``task``: classifier, regressor, text, cluster or anomaly.

    ConfigError when the family is unknown, is not built by scikit-learn, or does not fit the task.
    """
    t = _task(task)
    fam = FAMILIES.get(family)
    if fam is None:
        known = ", ".join(sorted(n for n in FAMILIES if n in _CLASSES))
        raise ConfigError(f"unknown model family '{family}'", hint=f"scikit-learn families: {known}")
    if family == "auto":
        raise ConfigError("family 'auto' is not one estimator: it is chosen by aispec.runtime.auto.auto_select",
                          hint="call auto.auto_select, or name a family")
    if Backend.sklearn not in fam.backends or family not in _CLASSES:
        raise ConfigError(f"family '{family}' is not built by scikit-learn",
                          hint=f"'{family}' is built by: {', '.join(b.value for b in fam.backends)}")
    if t not in fam.tasks:
        fitting = ", ".join(sklearn_families(t))
        raise ConfigError(f"family '{family}' does not fit task '{t.value}'",
                          hint=f"scikit-learn families for {t.value}: {fitting}")
    kinds = _CLASSES[family]
    if t is Task.text_classification and "text" in kinds:
        return "text"
    if t.value in CLASSIFICATION:
        return "classifier"
    if t.value in REGRESSION:
        return "regressor"
    if t is Task.clustering:
        return "cluster"
    return "anomaly"


def missing_libraries(families: Sequence[str]) -> dict[str, list[str]]:
    """``{family: [distribution, ...]}`` of the libraries the family records ask for that are not installed."""
    import importlib.util

    missing: dict[str, list[str]] = {}
    for family in dict.fromkeys(families):
        record = FAMILIES.get(family)
        for module, distribution in record.libraries if record is not None else ():
            if importlib.util.find_spec(module) is None:
                missing.setdefault(family, []).append(distribution)
    return missing


def require(families: Sequence[str], *, where: str | None = None) -> None:
    """ConfigError (AIS420) naming every family of ``families`` whose libraries are not installed, and how to
    install them: a family is never skipped or replaced without a word."""
    missing = missing_libraries(families)
    if not missing:
        return
    names = sorted({d for dists in missing.values() for d in dists})
    extras = sorted({FAMILIES[f].extra for f in missing if FAMILIES[f].extra})
    which = ", ".join(f"'{f}'" for f in missing)
    install = f"pip install 'aispec[{','.join(extras)}]'" if extras else f"pip install {' '.join(names)}"
    raise ConfigError(f"model family {which} needs {', '.join(names)}, which {'is' if len(names) == 1 else 'are'} "
                      "not installed", where=where, code="AIS420",
                      hint=f"{install} (or pip install -r requirements.txt in the project); or choose another "
                           "family (for family: auto, list model.candidates without it)")


def _estimator_class(family: str, kind: str) -> type[Any]:
    import importlib

    require([family])
    module, name = _CLASSES[family][kind]
    cls: type[Any] = getattr(importlib.import_module(module), name)
    return cls


def _native_params(cls: type[Any]) -> set[str]:
    parameters = inspect.signature(cls).parameters
    names = {p for p in parameters if p not in ("self", "args", "kwargs")}
    if any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
        names |= set(cls().get_params(deep=False))  # XGBoost and LightGBM take most parameters as **kwargs
    return names


def _is_deprecated_default(cls: type[Any], name: str) -> bool:
    param = inspect.signature(cls).parameters.get(name)
    return param is not None and param.default == "deprecated"


def parameters(family: str, task: str | Task) -> frozenset[str]:
    """Every parameter ``make_estimator(family, task=task, ...)`` accepts."""
    kind = variant(family, task)
    cls = _estimator_class(family, kind)
    native = _native_params(cls)
    names = set(native)
    if any(p.kind is p.VAR_KEYWORD for p in inspect.signature(cls).parameters.values()):
        # typed library parameters it takes through **kwargs (LightGBM's max_bin); an untyped one (class_weight)
        # only where the estimator itself has it
        names |= {p.name for p in FAMILIES[family].typed if p.kind != "any"}
    if family == "mlp":
        names |= set(_MLP_SHAPE) | set(_DEEP_ONLY)  # the deep-only words get their own error
    if family == "logistic_regression":
        names.add("penalty")
    if family == "svm" and kind == "classifier":
        names.add("probability")
    return frozenset(names)


def _reject(family: str, kind: str, task: Task, name: str, accepted: frozenset[str]) -> ConfigError:
    vocab = FAMILIES[family].params
    if name in vocab:
        return ConfigError(f"{family}: parameter '{name}' does not apply to the {kind} used for {task.value}",
                           hint=f"remove '{name}'; it applies to other tasks of '{family}'")
    from difflib import get_close_matches

    close = get_close_matches(name, sorted(accepted | vocab), n=1)
    hint = f"did you mean '{close[0]}'?" if close else f"its parameters: {', '.join(sorted(vocab))}"
    return ConfigError(f"{family}: unknown parameter '{name}'", hint=hint)


def _translate(family: str, kind: str, cls: type[Any], params: dict[str, Any]) -> dict[str, Any]:
    """Vocabulary words that scikit-learn spells differently."""
    out = dict(params)
    if family == "mlp":
        for name in _DEEP_ONLY:
            if name in out:
                raise ConfigError(f"mlp: parameter '{name}' has no scikit-learn meaning",
                                  hint="use backend: torch or keras for it, or remove it")
        if any(n in out for n in _MLP_SHAPE):
            if "hidden_layer_sizes" in out:
                raise ConfigError("mlp: give either hidden_layer_sizes or hidden_units/layers, not both")
            units = int(out.pop("hidden_units", 100))
            layers = int(out.pop("layers", 1))
            out["hidden_layer_sizes"] = (units,) * layers
        if isinstance(out.get("hidden_layer_sizes"), list):
            out["hidden_layer_sizes"] = tuple(out["hidden_layer_sizes"])
        if isinstance(out.get("hidden_layer_sizes"), int):
            out["hidden_layer_sizes"] = (out["hidden_layer_sizes"],)
    if family == "logistic_regression" and "penalty" in out and _is_deprecated_default(cls, "penalty"):
        penalty = out.pop("penalty")
        if penalty in (None, "none"):
            out["C"] = float("inf")
            out.setdefault("l1_ratio", 0.0)
        elif penalty == "l2":
            out.setdefault("l1_ratio", 0.0)
        elif penalty == "l1":
            out["l1_ratio"] = 1.0
            out.setdefault("solver", "saga")
        elif penalty == "elasticnet":
            out.setdefault("l1_ratio", 0.5)
            out.setdefault("solver", "saga")
        else:
            raise ConfigError(f"logistic_regression: unknown penalty '{penalty}'",
                              hint="penalty: l2, l1, elasticnet or none")
    if family == "local_outlier_factor" and out.get("novelty") is False:
        raise ConfigError("local_outlier_factor: novelty=false cannot score new rows",
                          hint="the runtime scores held-out and served rows, which needs novelty: true")
    return out


def make_estimator(family: str, *, task: str, params: Mapping[str, Any], seed: int) -> Any:
    """The unfitted scikit-learn estimator for ``family`` on ``task`` with ``params``.

    ``params`` override the defaults described in the module docstring. Raises ConfigError for an
    unknown family, a family that does not fit the task, an unknown or inapplicable parameter, or
    an invalid parameter value.
    """
    t = _task(task)
    kind = variant(family, t)
    cls = _estimator_class(family, kind)
    accepted = parameters(family, t)
    for name in params:
        if name not in accepted:
            raise _reject(family, kind, t, name, accepted)
    given = _translate(family, kind, cls, dict(params))
    for param in FAMILIES[family].typed:  # a whole-number float (30.0) is the integer the library takes
        if param.kind == "int" and isinstance(given.get(param.name), float) and given[param.name].is_integer():
            given[param.name] = int(given[param.name])

    native = _native_params(cls)
    kwargs: dict[str, Any] = {}
    if "random_state" in native:
        kwargs["random_state"] = seed
    if "n_jobs" in native and cls.__name__ in _N_JOBS:
        kwargs["n_jobs"] = 1
    # the family record's typed defaults (written out, so the report and auto's starting point show them)
    kwargs.update({p.name: p.default for p in FAMILIES[family].typed if p.default is not None and p.name in accepted})
    kwargs.update(_QUIET.get(family, {}))
    kwargs.update(_DEFAULTS.get((family, kind), {}))

    calibrated = False
    if family == "svm" and kind == "classifier":
        probability = given.pop("probability", True)
        if not isinstance(probability, bool):
            raise ConfigError(f"svm: probability must be true or false, not {probability!r}")
        calibrated = probability
    kwargs.update(given)

    estimator = _build(family, cls, kwargs)
    if calibrated:
        from sklearn.calibration import CalibratedClassifierCV  # type: ignore[import-untyped]

        estimator = CalibratedClassifierCV(estimator, method="sigmoid", cv=5, ensemble=False)
    return estimator


def _build(family: str, cls: type[Any], kwargs: Mapping[str, Any]) -> Any:
    try:
        estimator = cls(**kwargs)
    except TypeError as exc:  # pragma: no cover - names are checked above
        raise ConfigError(f"{family}: {exc}") from None
    validate = getattr(estimator, "_validate_params", None)
    # scikit-learn's own estimators declare their constraints; XGBoost and LightGBM check at fit
    if callable(validate) and hasattr(estimator, "_parameter_constraints"):
        try:
            validate()
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"{family}: {exc}", hint="see the scikit-learn documentation of "
                                                       f"{cls.__name__}") from None
    return estimator


# ----------------------------------------------------------------------------------- ensembles


def _member_name(family: str, seen: dict[str, int]) -> str:
    seen[family] = seen.get(family, 0) + 1
    return family if seen[family] == 1 else f"{family}_{seen[family]}"


def make_ensemble(kind: str, members: Sequence[Mapping[str, Any]], *, task: str, voting: str,
                  final_estimator: str | None, seed: int, scaling: str = "none") -> Any:
    """A voting or stacking ensemble of ``members`` (each ``{"family": ..., "params": {...}}``).

    - ``voting``: ``VotingClassifier(voting=voting)`` / ``VotingRegressor`` (``voting`` is ignored
      for regression). Soft voting needs every member to have ``predict_proba`` (not ``ridge``, not
      ``svm`` with ``probability: false``): otherwise ConfigError naming the member.
    - ``stacking``: ``StackingClassifier`` / ``StackingRegressor`` over 5 folds with
      ``final_estimator`` (a family name; default ``logistic_regression`` for classification,
      ``ridge`` for regression) built by ``make_estimator`` with default parameters.

    Members are named by family (``random_forest``, ``random_forest_2`` for a repeat); every
    member gets ``seed``. Classification, text/image classification, regression and forecasting.
    ``scaling`` (``cleaning.scaling``) is applied inside each member that is not scale-invariant (a
    ``Pipeline([("scale", ...), ("model", ...)])``): the shared preprocessing does not scale, so that
    tree members see the unscaled features and their exported graph agrees with scikit-learn.
    """
    t = _task(task)
    classification = t.value in CLASSIFICATION
    if not classification and t.value not in REGRESSION:
        raise ConfigError(f"an ensemble cannot serve a {t.value} task",
                          hint="ensembles combine classifiers or regressors")
    if len(members) < 2:
        raise ConfigError("an ensemble needs at least two members")
    built: list[tuple[str, Any]] = []
    seen: dict[str, int] = {}
    for i, member in enumerate(members):
        family = member.get("family")
        if not isinstance(family, str):
            raise ConfigError(f"ensemble member {i} has no family", hint="members: [{family: ..., params: {...}}]")
        params = member.get("params") or {}
        estimator = make_estimator(family, task=t.value, params=params, seed=seed)
        if scaling != "none" and family in FAMILIES and not FAMILIES[family].scale_invariant:
            from sklearn.pipeline import Pipeline  # type: ignore[import-untyped]

            from aispec.runtime.preprocess import scaler

            estimator = Pipeline([("scale", scaler(scaling)), ("model", estimator)])
        built.append((_member_name(family, seen), estimator))

    if kind == "voting":
        if classification:
            if voting not in ("soft", "hard"):
                raise ConfigError(f"unknown voting '{voting}'", hint="voting: soft or hard")
            if voting == "soft":
                for name, est in built:
                    if not hasattr(est, "predict_proba"):
                        raise ConfigError(f"soft voting needs probabilities, and ensemble member '{name}' has none",
                                          hint="use voting: hard, or a member with predict_proba")
            from sklearn.ensemble import VotingClassifier  # type: ignore[import-untyped]

            # flatten_transform=False: skl2onnx cannot convert the flattened transform (predict is the same)
            return VotingClassifier(built, voting=voting, n_jobs=1, flatten_transform=False)
        from sklearn.ensemble import VotingRegressor

        return VotingRegressor(built, n_jobs=1)
    if kind == "stacking":
        final_family = final_estimator or ("logistic_regression" if classification else "ridge")
        final = make_estimator(final_family, task=t.value, params={}, seed=seed)
        if classification:
            from sklearn.ensemble import StackingClassifier

            return StackingClassifier(built, final_estimator=final, cv=5, n_jobs=1)
        from sklearn.ensemble import StackingRegressor

        return StackingRegressor(built, final_estimator=final, cv=5, n_jobs=1)
    raise ConfigError(f"unknown ensemble kind '{kind}'", hint="kind: voting or stacking")


# ------------------------------------------------------------------------------ search spaces


def _spaces() -> dict[tuple[str, str], Callable[[], dict[str, Distribution]]]:
    from aispec.runtime.search import Choice, Float, Int

    def forest(kind: str) -> Callable[[], dict[str, Distribution]]:
        default_features: Any = "sqrt" if kind == "classifier" else 1.0
        return lambda: {
            "n_estimators": Int(50, 400, log=True),
            "max_features": Choice(default_features, *(v for v in ("sqrt", 0.5, 1.0) if v != default_features)),
            "min_samples_leaf": Int(1, 16, log=True),
            "max_depth": Choice(None, 6, 12, 24),
        }

    def tree() -> dict[str, Distribution]:
        return {"max_depth": Choice(None, 3, 5, 8, 12, 16), "min_samples_leaf": Int(1, 32, log=True)}

    def boosting() -> dict[str, Distribution]:
        return {
            "learning_rate": Float(0.01, 0.3, log=True),
            "max_iter": Int(50, 500, log=True),
            "max_leaf_nodes": Int(7, 63, log=True),
            "min_samples_leaf": Int(4, 64, log=True),
            "l2_regularization": Float(1e-6, 10.0, log=True),
        }

    def svc() -> dict[str, Distribution]:
        return {"C": Float(0.01, 1000.0, log=True), "gamma": Choice("scale", 0.001, 0.01, 0.1, 1.0)}

    def svr() -> dict[str, Distribution]:
        return {"C": Float(0.1, 10000.0, log=True), "gamma": Choice("scale", 0.001, 0.01, 0.1, 1.0),
                "epsilon": Float(0.001, 1.0, log=True)}

    def knn() -> dict[str, Distribution]:
        return {"n_neighbors": Int(1, 50, log=True), "weights": Choice("uniform", "distance"), "p": Choice(2, 1)}

    def mlp() -> dict[str, Distribution]:
        return {"hidden_layer_sizes": Choice((100,), (64,), (256,), (128, 64)),
                "alpha": Float(1e-6, 1.0, log=True), "learning_rate_init": Float(1e-4, 1e-2, log=True)}

    return {
        ("logistic_regression", "classifier"): lambda: {"C": Float(1e-3, 1e3, log=True)},
        ("linear", "regressor"): lambda: {"fit_intercept": Choice(True, False)},
        ("ridge", "classifier"): lambda: {"alpha": Float(1e-3, 1e3, log=True)},
        ("ridge", "regressor"): lambda: {"alpha": Float(1e-3, 1e3, log=True)},
        ("lasso", "regressor"): lambda: {"alpha": Float(1e-4, 10.0, log=True)},
        ("elastic_net", "regressor"): lambda: {"alpha": Float(1e-4, 10.0, log=True), "l1_ratio": Float(0.05, 1.0)},
        ("decision_tree", "classifier"): tree,
        ("decision_tree", "regressor"): tree,
        ("random_forest", "classifier"): forest("classifier"),
        ("random_forest", "regressor"): forest("regressor"),
        ("extra_trees", "classifier"): forest("classifier"),
        ("extra_trees", "regressor"): forest("regressor"),
        ("gradient_boosting", "classifier"): boosting,
        ("gradient_boosting", "regressor"): boosting,
        ("svm", "classifier"): svc,
        ("svm", "regressor"): svr,
        ("knn", "classifier"): knn,
        ("knn", "regressor"): knn,
        ("naive_bayes", "classifier"): lambda: {"var_smoothing": Float(1e-12, 1e-2, log=True)},
        ("naive_bayes", "text"): lambda: {"alpha": Float(1e-3, 10.0, log=True), "fit_prior": Choice(True, False)},
        ("mlp", "classifier"): mlp,
        ("mlp", "regressor"): mlp,
        ("kmeans", "cluster"): lambda: {"n_clusters": Int(2, 12)},
        ("gaussian_mixture", "cluster"): lambda: {
            "n_components": Int(2, 12), "covariance_type": Choice("full", "diag", "tied", "spherical")},
        ("dbscan", "cluster"): lambda: {"eps": Float(0.05, 5.0, log=True), "min_samples": Int(2, 20, log=True)},
        ("agglomerative", "cluster"): lambda: {
            "n_clusters": Int(2, 12), "linkage": Choice("ward", "complete", "average", "single")},
        # no max_features: skl2onnx cannot export a forest whose trees see a subset of the features
        ("isolation_forest", "anomaly"): lambda: {
            "n_estimators": Int(50, 400, log=True), "max_samples": Choice("auto", 0.5, 1.0)},
        ("one_class_svm", "anomaly"): lambda: {
            "nu": Float(0.01, 0.5, log=True), "gamma": Choice("scale", 0.001, 0.01, 0.1, 1.0)},
        ("local_outlier_factor", "anomaly"): lambda: {
            "n_neighbors": Int(5, 60, log=True), "p": Choice(2, 1)},
    }


def default_space(family: str, task: str) -> dict[str, Distribution]:
    """A compact search space for ``family`` on ``task`` (``search.Int`` / ``Float`` / ``Choice``).

    Ranges are the usual ones of the literature and of AutoML tools, kept small so that a few
    dozen trials cover them; every scikit-learn default lies inside its range (so a search can
    start from the defaults):

    - logistic_regression ``C`` 1e-3..1e3 (log); ridge ``alpha`` 1e-3..1e3 (log); lasso ``alpha``
      1e-4..10 (log); elastic_net ``alpha`` and ``l1_ratio`` 0.05..1; linear ``fit_intercept``.
    - decision_tree ``max_depth`` None/3..16, ``min_samples_leaf`` 1..32 (log).
    - random_forest / extra_trees ``n_estimators`` 50..400 (log), ``max_features`` sqrt/0.5/1.0,
      ``min_samples_leaf`` 1..16 (log), ``max_depth`` None/6/12/24.
    - gradient_boosting ``learning_rate`` 0.01..0.3, ``max_iter`` 50..500, ``max_leaf_nodes`` 7..63,
      ``min_samples_leaf`` 4..64, ``l2_regularization`` 1e-6..10 (all log).
    - svm ``C`` 0.01..1e3 (regression 0.1..1e4) (log), ``gamma`` scale/1e-3..1; SVR ``epsilon``.
    - knn ``n_neighbors`` 1..50 (log), ``weights``, ``p`` 1/2.
    - naive_bayes: Gaussian ``var_smoothing`` 1e-12..1e-2; Multinomial ``alpha`` 1e-3..10, ``fit_prior``.
    - mlp ``hidden_layer_sizes`` (100,)/(64,)/(256,)/(128, 64), ``alpha`` 1e-6..1,
      ``learning_rate_init`` 1e-4..1e-2 (log).
    - clustering: kmeans ``n_clusters`` 2..12; gaussian_mixture ``n_components`` 2..12 and
      ``covariance_type``; dbscan ``eps`` 0.05..5, ``min_samples`` 2..20; agglomerative
      ``n_clusters`` and ``linkage``.
    - anomaly: isolation_forest ``n_estimators``, ``max_samples`` (not ``max_features``: a forest
      that subsamples features cannot be exported to ONNX); one_class_svm
      ``nu`` 0.01..0.5 and ``gamma``; local_outlier_factor ``n_neighbors`` 5..60 and ``p``.
    - families whose record types its parameters (xgboost, lightgbm): the ``search`` ranges of those
      parameters, from the record (``schemas/vocabulary.py``).
    """
    kind = variant(family, task)
    typed = [p for p in FAMILIES[family].typed if p.search is not None]
    if typed:
        return {p.name: _distribution(p.search) for p in typed if p.search is not None}
    return _spaces()[(family, kind)]()


def _distribution(search: tuple[Any, ...]) -> Distribution:
    """A family record's default search range (``("loguniform", 0.01, 0.3)``) as a search distribution."""
    from aispec.runtime.search import Choice, Float, Int

    kind, *args = search
    if kind in ("int", "logint"):
        return Int(int(args[0]), int(args[1]), log=kind == "logint")
    if kind in ("uniform", "loguniform"):
        return Float(float(args[0]), float(args[1]), log=kind == "loguniform")
    return Choice(*args)
