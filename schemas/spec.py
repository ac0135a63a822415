"""The aispec spec, version 1: pydantic models for the shape of a spec.

Shape only: cross-field rules (a metric fits the task, the target exists, ...)
live in the compiler's semantic passes, where they can point at both ends of
a conflict.  Every model forbids unknown keys and is frozen.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_serializer, model_validator

from .types import (
    SPACE_SCHEMA,
    WHOLE,
    ColumnName,
    CriterionExpr,
    DistributionExpr,
    DurationExpr,
    EnvVarName,
    FamilyName,
    Identifier,
    Label,
    Params,
    SizeExpr,
    Slug,
    TemplateStr,
    anchored,
)
from .vocabulary import FAMILIES, Backend, Family, Param, Task

SPEC_VERSION = 1

Ratio = Annotated[float, Field(gt=0, lt=1)]
Probability = Annotated[float, Field(ge=0, le=1)]
PositiveInt = Annotated[int, Field(gt=0), WHOLE]


class _Model(BaseModel):
    # python-re: the patterns then mean here what they mean to the jsonschema package (see types.py)
    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False, regex_engine="python-re")


# ------------------------------------------------------------------ project


class Project(_Model):
    """Who and what: names the generated project and its documents."""

    name: Slug = Field(description="Short machine name (lower case, digits, '-' and '_'); names the project folder.")
    description: str = Field("", description="One or two sentences on what the model is for.")
    owner: str | None = Field(None, description="The team or person accountable for the model.")
    version: Annotated[str, Field(pattern=anchored(r"[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?"))] = Field(
        "0.1.0", description="Semantic version of the model.")


_FREQUENCY = anchored(r"[1-9]?[0-9]*(B|D|W(-(MON|TUE|WED|THU|FRI|SAT|SUN))?|M|ME|MS|BM|Q|QE|QS|Y|YE|YS|A|AS|H|h"
                      r"|min|T|S|s|ms)")


class Problem(_Model):
    """The kind of problem, the column to predict and task-specific settings."""

    task: Task
    target: ColumnName | None = Field(None, description="Column to predict. Optional for clustering and anomaly "
                                                        "detection, where it is used only for evaluation.")
    positive_class: Label | None = Field(None, description="Label of the positive class (binary classification).")
    horizon: PositiveInt | None = Field(None, description="Forecasting: how many steps ahead to predict.")
    time_column: ColumnName | None = Field(None, description="Forecasting: the column that orders observations.")
    frequency: Annotated[str, Field(pattern=_FREQUENCY)] | None = Field(
        None, description="Forecasting: the series frequency as a pandas alias (D, W, M, Q, Y, H, 15min, ...).")
    lags: list[PositiveInt] | None = Field(None, description="Forecasting: lagged values to use as features "
                                                             "(lag 1 = the last observation); default: one season.")
    season: PositiveInt | None = Field(None, description="Forecasting: steps in one seasonal cycle (1: none); "
                                                         "default from the frequency (W: 52, D: 7, M: 12, Q: 4, "
                                                         "H: 24).")
    multi_step: Literal["recursive", "direct"] | None = Field(
        None, description="Forecasting with a lag model: one one-step model fed its own forecasts (recursive, the "
                          "default) or one output per step (direct).")
    n_clusters: PositiveInt | None = Field(None, description="Clustering: the number of clusters.")
    contamination: Annotated[float, Field(gt=0, le=0.5)] | None = Field(
        None, description="Anomaly detection: expected share of anomalies.")


# --------------------------------------------------------------------- data


class ColumnType(str, Enum):
    numeric = "numeric"
    categorical = "categorical"
    text = "text"
    image = "image"
    datetime = "datetime"
    boolean = "boolean"


def _column_shorthand(value: Any) -> Any:
    # `bill_length_mm: numeric` is short for `bill_length_mm: {type: numeric}`.
    return {"type": value} if isinstance(value, str) else value


class Column(_Model):
    """A declared column: its type and the values it may take."""

    type: ColumnType
    nullable: bool = Field(False, description="Whether missing values are allowed.")
    range: Annotated[list[float | None], Field(min_length=2, max_length=2)] | None = Field(
        None, description="Inclusive [min, max] for numeric columns; null for an open end.")
    allowed: Annotated[list[Label], Field(min_length=1)] | None = Field(
        None, description="The only values a categorical column may take.")
    na_values: list[str] | None = Field(
        None, description="Texts that mean 'missing' in this column, besides an empty cell (e.g. [\"NA\", \"-\"]).")
    description: str | None = None
    unit: str | None = None


ColumnSpec = Annotated[Column, BeforeValidator(_column_shorthand, json_schema_input_type=Column | ColumnType)]


class _SourceBase(_Model):
    pass


_NA_VALUES_HELP = ("Texts that mean 'missing' in every column, besides an empty cell. Default none: "
                   "'NA', 'None' or 'null' are values like any other (a category 'NA' stays 'NA').")


class CsvSource(_SourceBase):
    kind: Literal["csv"]
    path: TemplateStr
    delimiter: Annotated[str, Field(min_length=1, max_length=1)] = ","
    encoding: str = "utf-8"
    header: bool = True
    na_values: list[str] = Field(default_factory=list, description=_NA_VALUES_HELP)


class ParquetSource(_SourceBase):
    kind: Literal["parquet"]
    path: TemplateStr


class JsonlSource(_SourceBase):
    kind: Literal["jsonl"]
    path: TemplateStr
    encoding: str = "utf-8"
    na_values: list[str] = Field(default_factory=list, description=_NA_VALUES_HELP + " JSON null is missing.")


class SqlSource(_SourceBase):
    # the schema's spelling of `_query_or_table`
    model_config = ConfigDict(json_schema_extra={"oneOf": [
        {"required": [key], "properties": {key: {"type": "string"}}} for key in ("query", "table")]})

    kind: Literal["sql"]
    url: TemplateStr = Field(description="SQLAlchemy URL; secrets only as ${ENV_VAR} references.")
    query: str | None = Field(None, description="A SELECT statement; or give `table`.")
    table: Identifier | None = None

    @model_validator(mode="after")
    def _query_or_table(self) -> SqlSource:
        if (self.query is None) == (self.table is None):
            raise ValueError("give exactly one of 'query' or 'table'")
        return self


class ImageFolderSource(_SourceBase):
    kind: Literal["image_folder"]
    path: TemplateStr = Field(description="A folder with one sub-folder of images per class.")
    image_size: Annotated[list[PositiveInt], Field(min_length=2, max_length=2)] | None = Field(
        None, description="[height, width] every image is resized to; default: the most common size.")
    extensions: list[str] = Field(default_factory=lambda: [".png", ".jpg", ".jpeg"], description=(
        "File name endings read as images (case-insensitive); a file's format is then judged by its bytes: "
        "PNG or JPEG."))


class BundledSource(_SourceBase):
    kind: Literal["bundled"]
    name: str = Field(description="A dataset that an installed package carries (see `aispec datasets`).")


Source = Annotated[
    CsvSource | ParquetSource | JsonlSource | SqlSource | ImageFolderSource | BundledSource,
    Field(discriminator="kind"),
]


class Imputation(_Model):
    numeric: Literal["mean", "median", "most_frequent", "constant", "drop", "none"] = "median"
    categorical: Literal["most_frequent", "constant", "drop", "none"] = "most_frequent"
    text: Literal["empty", "drop", "none"] = "empty"
    fill_value: float | str | None = None


class Outliers(_Model):
    method: Literal["none", "iqr", "zscore"] = "none"
    threshold: Annotated[float, Field(gt=0)] = 1.5
    action: Literal["clip", "drop"] = "clip"


class Cleaning(_Model):
    deduplicate: bool = Field(False, description="Remove rows that repeat another row exactly (every column). Off "
                                                 "by default: identical rows can be different people; a run warns "
                                                 "when copies land in both the training and the test split.")
    impute: Imputation = Imputation()
    outliers: Outliers = Outliers()
    scaling: Literal["standard", "minmax", "robust", "none"] = "standard"
    encoding: Literal["onehot", "ordinal", "target"] = "onehot"
    max_categories: PositiveInt | None = Field(None, description="Rarer categories are grouped as 'other'.")
    imbalance: Literal["none", "class_weight", "oversample", "undersample", "smote"] = "none"


class TabularAugmentation(_Model):
    noise: Annotated[float, Field(ge=0)] = 0.0


class ImageAugmentation(_Model):
    flip: Literal["none", "horizontal", "vertical", "both"] = "none"
    rotate: Annotated[float, Field(ge=0, le=180)] = 0.0
    crop: Probability = 0.0
    color_jitter: Probability = 0.0


class TextAugmentation(_Model):
    synonym_swap: Probability = 0.0
    random_deletion: Probability = 0.0


class Augmentation(_Model):
    tabular: TabularAugmentation | None = None
    image: ImageAugmentation | None = None
    text: TextAugmentation | None = None
    factor: Annotated[float, Field(ge=1, le=20)] = 1.0


class Split(_Model):
    train: Ratio = 0.8
    validation: Annotated[float, Field(ge=0, lt=1)] = 0.0
    test: Ratio = 0.2
    stratify: bool | None = Field(None, description="Keep class proportions in every split; default: yes for "
                                                    "classification.")
    seed: Annotated[int, Field(ge=0), WHOLE] = 0
    folds: Annotated[int, Field(ge=2, le=100), WHOLE] | None = Field(None, description="k-fold cross-validation on the "
                                                                                "training split.")
    time_ordered: bool | None = Field(None, description="Split by time instead of at random; default: yes for "
                                                        "forecasting.")
    group_column: ColumnName | None = Field(None, description="Keep all rows of one group in the same split.")


class Data(_Model):
    """Where the data comes from, what it must look like and how it is prepared."""

    source: Source
    columns: dict[ColumnName, ColumnSpec] | None = Field(
        None, description="Declared schema: every column the data must have, with type and constraints.")
    features: list[ColumnName] | None = Field(
        None, description="Columns the model may use; default: every declared column but the target, dropped, "
                          "PII and time columns.")
    drop: list[ColumnName] = Field(default_factory=list, description="Columns removed before training.")
    min_rows: PositiveInt = Field(20, description="Refuse to train on fewer rows.")
    cleaning: Cleaning = Cleaning()
    augmentation: Augmentation | None = None
    split: Split = Split()


# -------------------------------------------------------------------- model


class Search(_Model):
    method: Literal["grid", "random", "bayesian"] = "bayesian"
    trials: PositiveInt = 30
    timeout: DurationExpr | None = None
    space: Annotated[dict[Identifier, DistributionExpr], SPACE_SCHEMA] = Field(default_factory=dict)
    cv: Annotated[int, Field(ge=2, le=20), WHOLE] | None = Field(
        None, description="Folds of cross-validation per trial.")


def _member_params_per_family(schema: dict[str, Any]) -> None:
    """The schema's spelling of AIS343 and AIS357 for an ensemble member's `params`: those of its family. One
    branch per family rather than an if/then per family (as `model` has): a generator picks a branch, where a
    condition per family on every member made generating specs from the schema 30 times slower."""
    schema["anyOf"] = [{"properties": {"family": {"const": name}, "params": _params_of(family)}}
                       for name, family in FAMILIES.items()]


class EnsembleMember(_Model):
    model_config = ConfigDict(json_schema_extra=_member_params_per_family)

    family: FamilyName
    params: Params = Field(default_factory=dict)


def _member_shorthand(value: Any) -> Any:
    return {"family": value} if isinstance(value, str) else value


MemberSpec = Annotated[EnsembleMember, BeforeValidator(_member_shorthand,
                                                       json_schema_input_type=EnsembleMember | FamilyName)]


class Ensemble(_Model):
    kind: Literal["voting", "stacking"]
    members: Annotated[list[MemberSpec], Field(min_length=2)]
    voting: Literal["soft", "hard"] = "soft"
    final_estimator: FamilyName | None = Field(None, description="Stacking: the family that combines the members.")


def _param_schema(param: Param | None) -> dict[str, Any]:
    """The schema's spelling of AIS357 for one parameter: its type and range, as the family record types it
    (untyped parameters take any value here; their library checks them)."""
    if param is None or param.kind == "any":
        return {"description": param.description} if param is not None and param.description else {}
    out: dict[str, Any] = {"enum": list(param.choices)} if param.kind == "choice" else \
        {"type": "integer" if param.kind == "int" else "number"}
    if param.low is not None:
        out["exclusiveMinimum" if param.low_open else "minimum"] = param.low
    if param.high is not None:
        out["maximum"] = param.high
    if param.default is not None:
        out["default"] = param.default
    if param.description:
        out["description"] = param.description
    return out


def _params_of(family: Family) -> dict[str, Any]:
    """The schema of `params` given to ``family``: its parameters, the typed ones with their type and range."""
    types = family.param_types
    return {"properties": {p: _param_schema(types.get(p)) for p in sorted(family.params)},
            "additionalProperties": False}


def _params_per_family(schema: dict[str, Any]) -> None:
    """The schema's spelling of AIS343 (`params` and `search.space` name parameters of the family) and of AIS357
    for `params` (the typed ones take their type and range)."""
    rules: list[dict[str, Any]] = []
    for name, family in FAMILIES.items():
        params = sorted(family.params)
        when: dict[str, Any] = {"properties": {"family": {"const": name}}}
        then: dict[str, Any] = {"properties": {"params": _params_of(family)}}
        if name != "auto":  # a spec without `family` is `auto`; auto chooses its own search spaces
            when["required"] = ["family"]
            then["properties"]["search"] = {"properties": {"space": {"propertyNames": {"enum": params}}}}
        rules.append({"if": when, "then": then})
    schema["allOf"] = rules


class ModelSpec(_Model):
    """Which kind of model, on which back end, and how to tune it."""

    model_config = ConfigDict(json_schema_extra=_params_per_family)

    family: FamilyName = "auto"
    backend: Backend | None = Field(None, description="Inferred from the family when left out.")
    params: Params = Field(default_factory=dict)
    search: Search | None = None
    ensemble: Ensemble | None = None
    budget: DurationExpr | None = Field(None, description="family: auto - total time for the selection.")
    candidates: list[FamilyName] | None = Field(None, description="family: auto - the families to choose from.")


# ----------------------------------------------------------------- training


class EarlyStopping(_Model):
    patience: PositiveInt = Field(5, description="Epochs without improvement before training stops.")
    monitor: str | None = Field(None, description="What must improve: val_loss (default), loss (the training loss), "
                                                  "or a metric of the task on the validation split (val_accuracy, "
                                                  "val_f1_macro, val_rmse, ...).")
    min_delta: Annotated[float, Field(ge=0)] = Field(0.0, description="The smallest change that counts as an "
                                                                      "improvement.")


class Regularization(_Model):
    l1: Annotated[float, Field(ge=0)] = 0.0
    l2: Annotated[float, Field(ge=0)] = 0.0
    dropout: Annotated[float, Field(ge=0, lt=1)] = 0.0


class Schedule(_Model):
    """How the learning rate changes during training (deep-learning back ends)."""

    kind: Literal["constant", "step", "exponential", "cosine", "plateau"] = Field(
        "constant", description="constant; step (times gamma every step_size epochs); exponential (times gamma "
                                "every epoch); cosine (annealed to 0 over the epochs); plateau (times gamma when "
                                "the early-stopping value has not improved for patience epochs).")
    gamma: Annotated[float, Field(gt=0, lt=1)] = Field(
        0.1, description="step, exponential, plateau: the factor the learning rate is multiplied by.")
    step_size: PositiveInt = Field(10, description="step: epochs between two decays.")
    patience: PositiveInt = Field(2, description="plateau: epochs without improvement before a decay.")


def _schedule_shorthand(value: Any) -> Any:
    return {"kind": value} if isinstance(value, str) else value


ScheduleSpec = Annotated[Schedule, BeforeValidator(_schedule_shorthand, json_schema_input_type=Schedule | Literal[
    "constant", "step", "exponential", "cosine", "plateau"])]


class Training(_Model):
    loss: str | None = Field(None, description="Deep-learning back ends: cross_entropy (classification), mse, mae, "
                                               "huber (regression); default: cross_entropy or mse.")
    optimizer: Literal["sgd", "adam", "adamw", "rmsprop", "adagrad"] | None = None
    learning_rate: Annotated[float, Field(gt=0, le=10)] | None = None
    schedule: ScheduleSpec | None = Field(None, description="Deep-learning back ends: the learning-rate schedule "
                                                            "(a kind, or a mapping with its settings).")
    batch_size: PositiveInt | None = None
    epochs: PositiveInt | None = None
    early_stopping: EarlyStopping | bool | None = None
    regularization: Regularization | None = None
    checkpoint_every: Annotated[int, Field(ge=0), WHOLE] | None = Field(
        None, description="Deep-learning back ends: save a checkpoint every this many epochs (0: never), from which "
                          "`python -m <package> --resume` continues an interrupted training; default 1.")
    seed: Annotated[int, Field(ge=0), WHOLE] = 0


# ------------------------------------------------------------------ metrics


class Metrics(_Model):
    primary: str | None = Field(None, description="The metric the search optimises; default depends on the task.")
    report: list[str] | None = Field(None, description="Metrics computed and reported; default depends on the task.")
    acceptance: list[CriterionExpr] = Field(default_factory=list,
                                            description="Gates: the run fails unless every criterion holds.")


# ----------------------------------------------------------------- hardware


_RAY_ADDRESS = anchored(r"auto|(ray://)?[A-Za-z0-9]([A-Za-z0-9.-]{0,252})?:[0-9]{1,5}|\$\{[A-Za-z_][A-Za-z0-9_]*\}")
_ENGINE_ONLY = ("address", "cpus_per_worker", "gpus_per_worker", "memory_per_worker")


class Distributed(_Model):
    """Where search, training and batch scoring run: one process (``none``) or a cluster engine."""

    engine: Literal["none", "ray", "dask", "torch_ddp"] = "none"
    workers: PositiveInt = Field(1, description="Parallel workers: concurrent search trials, data-parallel "
                                                "training workers, batch-scoring tasks.")
    address: Annotated[str, Field(pattern=_RAY_ADDRESS)] | None = Field(
        None, description="The cluster to join: `auto` (the one this machine belongs to), `ray://host:port` (Ray "
                          "Client), `host:port`, or `${RAY_ADDRESS}` (read from the environment at run time). "
                          "Unset: a local Ray instance is started for the run and stopped after it.")
    cpus_per_worker: Annotated[float, Field(gt=0, le=1024)] = Field(1.0, description="CPUs each worker reserves.")
    gpus_per_worker: Annotated[float, Field(ge=0, le=64)] = Field(0.0, description="GPUs each worker reserves "
                                                                                    "(training on NCCL when > 0).")
    memory_per_worker: SizeExpr | None = Field(None, description="Memory each worker reserves (Ray's `memory` "
                                                                 "resource), e.g. `2GiB`.")

    @model_serializer(mode="wrap")
    def _engine_settings_only_with_an_engine(self, handler: Any) -> Any:
        # Without an engine the cluster settings mean nothing (AIS371 reports any that are written), and
        # leaving them out keeps the resolved spec, its hash and every generated project of a spec without
        # an engine exactly as they were before these settings existed.
        data = handler(self)
        if self.engine == "none" and isinstance(data, dict):
            for name in _ENGINE_ONLY:
                data.pop(name, None)
        return data


class Hardware(_Model):
    accelerator: Literal["cpu", "gpu", "auto"] = "auto"
    memory: SizeExpr | None = None
    cpus: PositiveInt | None = None
    distributed: Distributed = Distributed()


# --------------------------------------------------------------- deployment


class Api(_Model):
    version: Annotated[str, Field(pattern=anchored(r"v[0-9]+"))] = "v1"
    max_batch: Annotated[int, Field(ge=1, le=100_000), WHOLE] = 1000
    max_body: SizeExpr | None = None
    auth: Literal["none", "api_key"] = "none"
    api_key_env: EnvVarName | None = None


class Optimize(_Model):
    quantize: Literal["none", "int8", "fp16"] = "none"
    prune: Probability = 0.0


# Container image references and Kubernetes names, checked here so that a bad value is a
# diagnostic at `check` time rather than a broken Dockerfile or manifest.
IMAGE_REF = anchored(r"[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+)?(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*"
                     r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?")
_REPOSITORY = anchored(r"[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*")
_REGISTRY = anchored(r"[a-z0-9]+(?:[.-][a-z0-9]+)*(?::[0-9]+)?(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*")
_DNS_LABEL = anchored(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_CPU = anchored(r"[0-9]+m|[0-9]+(?:\.[0-9]+)?")


class Image(_Model):
    base: Annotated[str, Field(pattern=IMAGE_REF)] = Field(
        "python:3.11-slim", description="Base image of the serving image, e.g. python:3.11-slim.")
    name: Annotated[str, Field(pattern=_REPOSITORY)] | None = None
    registry: Annotated[str, Field(pattern=_REGISTRY)] | None = None


class Kubernetes(_Model):
    replicas: PositiveInt = 2
    min_replicas: PositiveInt | None = None
    max_replicas: PositiveInt | None = None
    target_cpu: Annotated[int, Field(ge=1, le=100), WHOLE] = 70
    cpu: Annotated[str, Field(pattern=_CPU)] = Field("500m", description="CPU request: cores (0.5) or millicores.")
    memory: SizeExpr | None = None
    namespace: Annotated[str, Field(pattern=_DNS_LABEL)] | None = None


class AbTest(_Model):
    challenger: str = Field(description="Path of the challenger's spec or model directory.")
    weight: Probability = Field(0.1, description="Share of traffic for the challenger.")
    mode: Literal["split", "shadow"] = "split"
    sticky_key: str | None = Field(None, description="Request field that keeps one caller on one variant.")


class Deployment(_Model):
    target: Literal["rest", "batch", "none"] = "rest"
    api: Api = Api()
    latency_budget: DurationExpr | None = Field(None, description="p95 latency the service must meet, e.g. 50ms.")
    optimize: Optimize = Optimize()
    image: Image = Image()
    kubernetes: Kubernetes | None = None
    ab_test: AbTest | None = None


# --------------------------------------------------------------- monitoring


class Drift(_Model):
    method: Literal["psi", "ks", "both"] = "psi"
    threshold: Annotated[float, Field(gt=0)] = 0.2
    window: PositiveInt = 1000


class Retraining(_Model):
    trigger: Literal["manual", "drift", "schedule", "performance"] = "manual"
    schedule: str | None = Field(None, description="Cron expression when trigger is schedule.")
    min_feedback: PositiveInt | None = None


class Monitoring(_Model):
    drift: Drift | None = None
    log_predictions: bool = False
    retraining: Retraining = Retraining()


# --------------------------------------------------------------- compliance


class Compliance(_Model):
    regulations: list[Literal["gdpr", "ccpa", "hipaa", "eu_ai_act", "sox"]] = Field(default_factory=list)
    pii: list[ColumnName] = Field(default_factory=list, description="Columns holding personal data: never used as "
                                                                    "features, never logged.")
    sensitive: list[ColumnName] = Field(default_factory=list, description="Attributes to report per-group metrics "
                                                                          "and fairness for.")
    fairness: list[CriterionExpr] = Field(default_factory=list, description="Fairness gates, e.g. "
                                                                             "`demographic_parity_difference <= 0.1`.")
    intended_use: str | None = None
    limitations: list[str] = Field(default_factory=list)
    notes: str | None = None
    risk_level: Literal["minimal", "limited", "high"] | None = None


# --------------------------------------------------------------------- spec


def _empty_sections_may_be_null(schema: dict[str, Any]) -> None:
    properties = schema["properties"]
    for name in _OPTIONAL_SECTIONS:
        prop = properties[name]
        properties[name] = {"anyOf": [{"$ref": prop.pop("$ref")}, {"type": "null"}], **prop}


class Spec(_Model):
    """An aispec project spec, version 1."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, title="aispec spec v1", json_schema_extra=_empty_sections_may_be_null,
    )

    @model_validator(mode="before")
    @classmethod
    def _empty_sections(cls, data: Any) -> Any:
        # An optional section left empty (`monitoring:` with its lines commented out) means its defaults.
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if not (v is None and k in _OPTIONAL_SECTIONS)}
        return data

    aispec: Annotated[Literal[1], WHOLE] = Field(description="Spec format version.")
    project: Project
    problem: Problem
    data: Data
    model: ModelSpec = ModelSpec()
    training: Training = Training()
    metrics: Metrics = Metrics()
    hardware: Hardware = Hardware()
    deployment: Deployment = Deployment()
    monitoring: Monitoring = Monitoring()
    compliance: Compliance = Compliance()


_OPTIONAL_SECTIONS = tuple(name for name, field in Spec.model_fields.items() if not field.is_required())
