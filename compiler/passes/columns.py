"""Column rules: the target, features, dropped, PII, sensitive and time columns exist and do not clash."""

from __future__ import annotations

from collections.abc import Iterator

from aispec.schemas.catalog import DATASETS
from aispec.schemas.spec import BundledSource, ColumnType, SqlSource
from aispec.schemas.vocabulary import CLASSIFICATION_TASKS, Task, task_info

from ..diagnostics import Diagnostic, choices_hint, did_you_mean
from ..source import Loc
from .context import Context


def _references(ctx: Context) -> Iterator[tuple[Loc, str, str]]:
    """Every place the spec names a column: (loc, column, role)."""
    spec = ctx.spec
    if spec.problem.target is not None:
        yield ("problem", "target"), spec.problem.target, "target"
    if spec.problem.time_column is not None:
        yield ("problem", "time_column"), spec.problem.time_column, "time column"
    for i, name in enumerate(spec.data.features or []):
        yield ("data", "features", i), name, "feature"
    for i, name in enumerate(spec.data.drop):
        yield ("data", "drop", i), name, "dropped column"
    if spec.data.split.group_column is not None:
        yield ("data", "split", "group_column"), spec.data.split.group_column, "group column"
    for i, name in enumerate(spec.compliance.pii):
        yield ("compliance", "pii", i), name, "PII column"
    for i, name in enumerate(spec.compliance.sensitive):
        yield ("compliance", "sensitive", i), name, "sensitive attribute"


def check_dataset(ctx: Context) -> Iterator[Diagnostic]:
    src = ctx.spec.data.source
    if isinstance(src, BundledSource) and src.name not in DATASETS:
        yield ctx.report("AIS310", f"unknown bundled dataset '{src.name}'", ("data", "source", "name"),
                         choices_hint(src.name, DATASETS))
    if ctx.dataset is not None and ctx.spec.data.columns is not None:
        for name, col in ctx.spec.data.columns.items():
            actual = ctx.dataset.column_type(name)
            if actual is None:
                yield ctx.report("AIS311", f"column '{name}' is not in dataset '{ctx.dataset.name}'",
                                 ("data", "columns", name), did_you_mean(name, ctx.dataset.column_names)
                                 or f"its columns: {', '.join(ctx.dataset.column_names[:12])}", key=True)
            elif actual != col.type.value:
                yield ctx.report("AIS312", f"column '{name}' is declared {col.type.value} but dataset "
                                           f"'{ctx.dataset.name}' has it as {actual}",
                                 ("data", "columns", name), f"declare it as '{actual}'", key=True)


def check_references(ctx: Context) -> Iterator[Diagnostic]:
    known = ctx.columns
    if known is None:
        return
    for loc, name, role in _references(ctx):
        if name not in known:
            fallback = (f"its columns: {', '.join(known)}" if ctx.spec.data.columns is None
                        else "declare it under data.columns")
            yield ctx.report("AIS313", f"{role} '{name}' is not a column of {ctx.columns_origin}", loc,
                             did_you_mean(name, known) or fallback)


def check_roles(ctx: Context) -> Iterator[Diagnostic]:
    spec = ctx.spec
    target = spec.problem.target
    features = spec.data.features or []
    if target is not None and target in features:
        yield ctx.report("AIS314", f"target '{target}' is also listed as a feature", ("data", "features",
                         features.index(target)), "a model cannot use the answer as an input: remove it from features")
    if target is not None and target in spec.data.drop:
        yield ctx.report("AIS315", f"target '{target}' is dropped", ("data", "drop", spec.data.drop.index(target)),
                         "remove it from data.drop")
    if target is not None and target in spec.compliance.pii:
        yield ctx.report("AIS315", f"target '{target}' is declared as PII, which is never used",
                         ("compliance", "pii", spec.compliance.pii.index(target)),
                         "PII columns are removed before training; predict another column")
    for i, name in enumerate(features):
        if name in spec.compliance.pii:
            yield ctx.report("AIS316", f"PII column '{name}' is used as a feature", ("data", "features", i),
                             "personal data is never a model input: remove it from data.features")
        elif name in spec.data.drop:
            yield ctx.report("AIS317", f"feature '{name}' is also dropped", ("data", "features", i),
                             "remove it from data.features or from data.drop")
    if target is not None and target in spec.compliance.sensitive:
        yield ctx.report("AIS315", f"target '{target}' is listed as a sensitive attribute",
                         ("compliance", "sensitive", spec.compliance.sensitive.index(target)),
                         "fairness is measured across groups of another column, e.g. sex or age band")
    inputs = ctx.features or []
    for i, name in enumerate(spec.compliance.sensitive):
        if name in inputs and name != target:
            yield ctx.report("AIS318", f"sensitive attribute '{name}' is also a model input",
                             ("compliance", "sensitive", i),
                             f"add '{name}' to data.drop to audit fairness without using it")
    if ctx.features is not None and not ctx.features and spec.problem.task is not Task.forecasting:
        loc = ("data", "features") if spec.data.features is not None else ("data",)
        yield ctx.report("AIS325", "the model has no inputs: every column is the target, dropped or PII", loc,
                         "keep at least one feature column", key=True)


def check_duplicates(ctx: Context) -> Iterator[Diagnostic]:
    spec = ctx.spec
    lists: dict[Loc, list[str]] = {
        ("data", "features"): spec.data.features or [], ("data", "drop"): spec.data.drop,
        ("compliance", "pii"): spec.compliance.pii, ("compliance", "sensitive"): spec.compliance.sensitive,
        ("metrics", "report"): spec.metrics.report or [], ("model", "candidates"): spec.model.candidates or [],
    }
    for loc, items in lists.items():
        seen: set[str] = set()
        for i, item in enumerate(items):
            if item in seen:
                yield ctx.report("AIS326", f"'{item}' is listed twice in {'.'.join(map(str, loc))}", (*loc, i),
                                 "remove the repeated entry")
            seen.add(item)


def check_declarations(ctx: Context) -> Iterator[Diagnostic]:
    columns = ctx.spec.data.columns or {}
    for name, col in columns.items():
        loc = ("data", "columns", name)
        if col.range is not None:
            if col.type is not ColumnType.numeric:
                yield ctx.report("AIS319", f"column '{name}' is {col.type.value}: a range applies to numeric columns",
                                 (*loc, "range"), "remove the range, or declare the column numeric")
            lo, hi = col.range
            if lo is not None and hi is not None and lo > hi:
                yield ctx.report("AIS319", f"column '{name}' has range [{lo:g}, {hi:g}] with min above max",
                                 (*loc, "range"), "write [min, max]")
        if col.allowed is not None and col.type not in (ColumnType.categorical, ColumnType.boolean, ColumnType.text):
            yield ctx.report("AIS319", f"column '{name}' is {col.type.value}: allowed values apply to categorical "
                                       "columns", (*loc, "allowed"), "use range for numeric columns")
    target = ctx.spec.problem.target
    positive = ctx.spec.problem.positive_class
    n_classes = len(columns[target].allowed or []) if target in columns else (
        ctx.dataset.n_classes if ctx.dataset is not None and target == ctx.dataset.default_target else None)
    if positive is not None and n_classes is not None and n_classes > 2:
        yield ctx.report("AIS327", f"positive_class applies to two classes, and '{target}' has {n_classes}",
                         ("problem", "positive_class"), "remove it; multiclass metrics average over the classes",
                         key=True)
    if positive is not None and target in columns:
        allowed = columns[target].allowed
        if allowed is not None and str(positive) not in {str(a) for a in allowed}:
            yield ctx.report("AIS320", f"positive class '{positive}' is not an allowed value of '{target}'",
                             ("problem", "positive_class"), choices_hint(str(positive), [str(a) for a in allowed]))


def check_modality(ctx: Context) -> Iterator[Diagnostic]:
    task = ctx.spec.problem.task
    known = ctx.columns
    inputs = ctx.features
    if task is Task.text_classification and known is not None and inputs is not None \
            and not any(known.get(c) == "text" for c in inputs):
        why = "none is declared" if "text" not in known.values() else "no text column is a model input"
        yield ctx.report("AIS321", f"text classification needs a text column, and {why}",
                         ("problem", "task"), "declare the column that holds the text with 'type: text'; PII "
                                              "and dropped columns are never inputs")
    family = ctx.family
    if task_info(task).modality == "text" and family is not None and family.text_tokens and known is not None \
            and inputs is not None and [c for c in inputs if known.get(c) == "text"] and len(inputs) != 1:
        yield ctx.report("AIS338", f"the {family.name} family reads the token ids of one text column, and the "
                         f"model's inputs are {len(inputs)} columns ({', '.join(inputs)})",
                         ("model", "family"), "set data.features to the text column alone, or use a scikit-learn "
                                              "family (TF-IDF features of every text column beside the others)")
    if task is Task.image_classification and known is not None and "image" not in known.values() \
            and ctx.spec.data.source.kind != "image_folder":
        yield ctx.report("AIS321", "image classification needs images: an image_folder source or an image column",
                         ("problem", "task"), "use 'source: {kind: image_folder, path: ...}'")
    if ctx.spec.data.source.kind == "image_folder" and task_info(task).modality != "image":
        yield ctx.report("AIS336", f"an image_folder source holds images, which a {task.value} model does not take",
                         ("data", "source", "kind"), "use 'task: image_classification', or a tabular source")
    target = ctx.spec.problem.target
    target_type = known.get(target) if known is not None and target is not None else None
    if task in CLASSIFICATION_TASKS and ctx.spec.data.columns is not None \
            and target_type in ("numeric", "datetime", "text", "image"):
        yield ctx.report("AIS322", f"classification target '{target}' is declared {target_type}",
                         ("problem", "target"), "declare the target categorical (or boolean), or use regression")
    if task in (Task.regression, Task.forecasting) and target_type not in (None, "numeric"):
        yield ctx.report("AIS322", f"{task.value} target '{target}' is {target_type}, not numeric",
                         ("problem", "target"), "use classification for labels, or declare the target numeric")


_SECRET_KEYS = ("password", "passwd", "pwd", "secret", "token", "api_key", "apikey", "access_key")


def check_secrets(ctx: Context) -> Iterator[Diagnostic]:
    src = ctx.spec.data.source
    if not isinstance(src, SqlSource):
        return
    url = src.url.text
    loc = ("data", "source", "url")
    # user:password@host with a literal password
    _, sep, rest = url.partition("://")
    netloc = rest.split("/", 1)[0] if sep else ""
    creds = netloc.rpartition("@")[0] if "@" in netloc else ""
    secret = ""
    if ":" in creds and not creds.split(":", 1)[1].startswith("${"):
        secret = "a password"
    query = url.partition("?")[2].lower()
    for part in query.split("&"):
        k, _, v = part.partition("=")
        if k in _SECRET_KEYS and v and not v.startswith("${"):
            secret = f"'{k}'"
    if secret:
        yield ctx.report("AIS323", f"the connection URL contains {secret} written literally",
                         loc, "never put secrets in a spec: write ${DB_PASSWORD} and set it in the environment")
    elif not src.url.variables and not url.startswith("sqlite"):
        yield ctx.report("AIS324", "the connection URL is written out in full", loc,
                         "take it from the environment, e.g. url: ${DATABASE_URL}")
