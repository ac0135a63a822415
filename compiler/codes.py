"""Every diagnostic code aispec can emit, with its documentation.

Codes are stable: 1xx syntax, 2xx schema, 3xx semantic (cross-field), 4xx
render, 5xx write/update, 9xx internal.  Each entry carries a short bad
example and its fix; a test checks that every example really produces its
code, and ``docs/diagnostics.md`` is generated from this table.
"""

from __future__ import annotations

from dataclasses import dataclass

from .diagnostics import Diagnostic, Severity
from .source import Loc, Span


@dataclass(frozen=True, slots=True)
class CodeInfo:
    code: str
    severity: Severity
    title: str
    explanation: str
    example: str  # a YAML spec fragment (or whole spec) that triggers the code
    fix: str
    example_syntax: str = "yaml"


E, W = Severity.ERROR, Severity.WARNING

_TABLE: list[CodeInfo] = []


def _code(
    code: str, severity: Severity, title: str, explanation: str, example: str, fix: str, syntax: str = "yaml"
) -> None:
    _TABLE.append(CodeInfo(code, severity, title, explanation.strip(), example.strip("\n"), fix.strip(), syntax))


# ---------------------------------------------------------------- 1xx syntax
_code("AIS100", E, "cannot read spec file",
      "The spec file does not exist, is not readable, or is not UTF-8 text.",
      "", "Check the path and the file's encoding.")
_code("AIS101", E, "YAML syntax error",
      "The YAML parser could not read the file: an indentation mistake, an unclosed quote or bracket, "
      "a tab used for indentation, ...",
      "project:\n  name: demo\n   description: misaligned\n",
      "Indent keys of one mapping to the same column.")
_code("AIS102", E, "DSL syntax error",
      "The aispec language parser met a token it did not expect. The message says what it found and "
      "what would have been valid there.",
      'aispec = 1\nproject {\n  name = "demo"\n', 'Close every block: add the missing "}".', "dsl")
_code("AIS103", E, "duplicate key",
      "A key appears twice in the same mapping or block. YAML parsers usually keep the last one "
      "silently; aispec refuses, since one of the two values is a mistake.",
      "project:\n  name: demo\n  name: other\n",
      "Remove one of the two entries.")
_code("AIS104", E, "invalid expression",
      "An expression inside a string (acceptance criterion, search space, duration, size or environment "
      "reference) could not be parsed.",
      "metrics:\n  acceptance:\n    - accuracy >=\n",
      "Write a comparison such as `accuracy >= 0.9`.")
_code("AIS105", E, "spec is not a mapping",
      "The top level of a spec must be a mapping of sections (aispec, project, problem, data, ...). "
      "The file is empty or holds a list or a single value.",
      "- just a list\n", "Start the file with `aispec: 1` and the `project:` section.")
_code("AIS106", E, "unsupported YAML feature",
      "Custom tags (such as !!python/object) and other non-data YAML constructs are refused: a spec is "
      "plain data and never becomes code.",
      "project: !!python/object:os.system {}\n", "Write plain values.")

_code("AIS107", E, "expression cut at a comma",
      "Inside YAML's inline `{...}` and `[...]`, a comma separates entries, so `{max_depth: int(2, 32)}` "
      "reads as `max_depth: int(2` and a stray `32)`. Quote such expressions or use block style.",
      "aispec: 1\nproject: {name: forest}\nproblem: {task: classification, target: species}\ndata:\n"
      "  source: {kind: bundled, name: palmerpenguins}\nmodel:\n  family: random_forest\n  search:\n"
      "    space: {max_depth: int(2, 32)}\n",
      "Write `space: {max_depth: 'int(2, 32)'}`, or one entry per line.")
_code("AIS108", E, "value cannot be written in the aispec language",
      "`convert` to the DSL met a value the DSL cannot spell: YAML's `.inf` and `.nan` have no DSL literal.",
      "", "Use a finite number, or keep the spec in YAML.")
_code("AIS109", E, "nesting too deep",
      "Mappings, blocks and lists nest more than 64 levels deep. Real specs nest fewer than 10; the limit "
      "keeps a hostile or generated file from exhausting the checker (and is the same in both syntaxes).",
      "aispec: 1\nproject: {name: deep}\nnotes: " + "[" * 65 + "]" * 65 + "\n",
      "Flatten the data: a spec holds sections of settings, not deep trees.")
_code("AIS110", E, "YAML anchors and aliases are not supported",
      "An alias (`*name`) repeats the value of an anchor (`&name`). aispec refuses them: a spec is plain "
      "data written out in full, the DSL has no aliases (so `convert` and `fmt` could not keep them), and "
      "aliases of aliases let a few hundred bytes expand to gigabytes (the 'billion laughs' attack).",
      "aispec: 1\nproject: {name: penguins}\nproblem: &p {task: classification, target: species}\n"
      "baseline: *p\n",
      "Write the value out where it is used; remove the '&name' anchor.")
_code("AIS111", E, "too many problems",
      "A report lists at most 100 diagnostics; this one says how many more there were (and is a warning when "
      "they all were). The first problems are the ones to fix: many later ones are often their consequences.",
      "aispec: 1\nnotes: {" + ", ".join(["k: 1"] * 102) + "}\n",
      "Fix the problems shown and check again.")
_code("AIS112", E, "formatting would change the spec",
      "`fmt` and `convert` read back the text they print before writing anything, and refuse text that would "
      "read back as other data (types included), lose or add a comment, or not parse at all. The file is "
      "left as it was. A comment that YAML cannot hold (a control character from a DSL comment) is refused "
      "the same way; anything else refused here is a bug in aispec.",
      "", "Remove the control character from the comment; otherwise report the bug with the spec.")

# A valid base spec; the examples below are YAML fragments merged onto it
# (a test applies each and checks that exactly its code appears).
BASE_EXAMPLE = """\
aispec: 1
project:
  name: penguins
problem:
  task: classification
  target: species
data:
  source:
    kind: bundled
    name: palmerpenguins
"""

# ---------------------------------------------------------------- 2xx schema
_code("AIS201", E, "missing required field",
      "A required field is absent. The location points at the section that should hold it.",
      "aispec: 1\nproject:\n  name: penguins\nproblem:\n  target: species\ndata:\n  source: {kind: bundled, name: "
      "palmerpenguins}\n", "Add the field, here `task: classification`.")
_code("AIS202", E, "unknown field",
      "A key that the spec format does not define, usually a typo. Unknown keys are errors so that a "
      "misspelt setting is never silently ignored.",
      "problem:\n  task: classification\n  target: species\n  tagret: species\n", "Fix the spelling or remove it.")
_code("AIS203", E, "invalid choice",
      "The value is not one of the allowed words for this field.",
      "problem:\n  task: clasification\n  target: species\n", "Use one of the listed values.")
_code("AIS204", E, "wrong type",
      "The value has the wrong type: text where a number is expected, a list where a mapping is expected, ...",
      "data:\n  source: {kind: bundled, name: palmerpenguins}\n  min_rows: many\n",
      "Write a value of the expected type.")
_code("AIS205", E, "value out of range or badly formatted",
      "A number is outside its allowed range, a list has the wrong length, or a name does not match its format.",
      "data:\n  source: {kind: bundled, name: palmerpenguins}\n  split: {train: 1.2, test: 0.2}\n",
      "Use a value inside the documented range.")
_code("AIS206", E, "invalid combination of fields",
      "Two fields of one section contradict each other, e.g. an SQL source with both `query` and `table`.",
      "data:\n  source:\n    kind: sql\n    url: ${DATABASE_URL}\n    table: penguins\n"
      "    query: SELECT * FROM penguins\n",
      "Keep one of the two.")
_code("AIS207", E, "unsupported spec format version",
      "`aispec:` names a format version this aispec does not know (newer, or never existed).",
      "aispec: 7\n", "Write `aispec: 1`, or upgrade aispec.")
_code("AIS208", W, "old spec format version",
      "The spec uses an older format version; it was upgraded in memory. `aispec fmt --write` saves the "
      "upgraded form.",
      "", "Run `aispec fmt --write spec.yaml`.")

# -------------------------------------------------------------- 3xx semantic
_code("AIS301", E, "task needs a target",
      "Supervised tasks (classification, regression, forecasting, text and image classification) learn to "
      "predict a column; `problem.target` names it.",
      "problem:\n  task: regression\n  target: null\n", "Add `target: <column>`.")
_code("AIS302", W, "field belongs to another task",
      "A task-specific field (horizon, n_clusters, contamination, positive_class, ...) is set for a task that "
      "does not use it; it is ignored.",
      "problem:\n  n_clusters: 3\n", "Remove the field or change the task.")
_code("AIS303", E, "forecasting needs a time column, a horizon and a frequency",
      "A forecast orders observations by time, on a regular grid of one step per `frequency` (which also "
      "sets the default season and the timestamps the service answers with), and predicts a number of "
      "steps ahead.",
      "problem:\n  task: forecasting\n  target: body_mass_g\n", "Add `time_column:`, `horizon:` and `frequency:`.")
_code("AIS304", W, "horizon longer than the series",
      "The forecast horizon is more than half of the series' length: there is too little history to learn "
      "from and to test on.",
      "problem:\n  task: forecasting\n  target: co2\n  time_column: date\n  horizon: 5000\n"
      "data:\n  source: {kind: bundled, name: co2}\n", "Forecast fewer steps ahead.")
_code("AIS305", W, "setting with no effect on a forecast",
      "A forecast here reads only the series' own history, on its regular time grid: other columns "
      "(`data.features`) are not model inputs, gaps are always filled by linear interpolation (so "
      "`cleaning.impute`, `outliers`, `encoding`, `max_categories` and `imbalance` change nothing), and "
      "`problem.lags` / `problem.multi_step` only concern lag models (not `ets`, `arima` or the naive "
      "baselines).",
      "problem:\n  task: forecasting\n  target: co2\n  time_column: date\n  horizon: 12\n  frequency: W\n"
      "data:\n  source: {kind: bundled, name: co2}\n  cleaning:\n    impute: {numeric: mean}\n"
      "model:\n  family: ridge\n", "Remove the setting.")
_code("AIS310", E, "unknown bundled dataset",
      "`source.kind: bundled` names a dataset that no installed package carries. `aispec datasets` lists them.",
      "data:\n  source: {kind: bundled, name: pengiuns}\n", "Use a listed name, e.g. `palmerpenguins`.")
_code("AIS311", E, "declared column not in the bundled dataset",
      "A column declared under `data.columns` does not exist in the bundled dataset.",
      "data:\n  source: {kind: bundled, name: palmerpenguins}\n  columns:\n    species: categorical\n"
      "    bill_len: numeric\n", "Use the dataset's column names.")
_code("AIS312", W, "declared type differs from the dataset",
      "A column is declared with another type than the bundled dataset has; validation will fail at run time.",
      "data:\n  source: {kind: bundled, name: palmerpenguins}\n  columns:\n    species: categorical\n"
      "    island: numeric\n", "Declare the dataset's type.")
_code("AIS313", E, "unknown column",
      "The target, a feature, a dropped, PII, sensitive, time or group column names a column that is not "
      "declared (or not in the bundled dataset).",
      "problem:\n  target: specie\n", "Fix the name; the hint suggests the closest column.")
_code("AIS314", E, "target used as a feature",
      "The column to predict is also listed as a model input: the model would learn to copy the answer.",
      "data:\n  source: {kind: bundled, name: palmerpenguins}\n  features: [species, island]\n",
      "Remove the target from `data.features`.")
_code("AIS315", E, "target is dropped or PII",
      "The column to predict is removed before training (dropped or declared PII).",
      "data:\n  source: {kind: bundled, name: palmerpenguins}\n  drop: [species]\n", "Remove it from the list.")
_code("AIS316", E, "PII column used as a feature",
      "A column declared as personal data (`compliance.pii`) is listed as a model input. PII is never a feature.",
      "data:\n  source: {kind: bundled, name: palmerpenguins}\n  features: [island, sex]\ncompliance:\n  pii: [sex]\n",
      "Remove it from `data.features`.")
_code("AIS317", E, "feature is also dropped",
      "A column is both an explicit feature and dropped.",
      "data:\n  source: {kind: bundled, name: palmerpenguins}\n  features: [island, year]\n  drop: [year]\n",
      "Keep it in one list only.")
_code("AIS318", W, "sensitive attribute used as a model input",
      "A sensitive attribute (for fairness reports) is also a model input. That can be deliberate, but "
      "usually it is dropped and only used to audit per-group results.",
      "compliance:\n  sensitive: [sex]\n", "Add it to `data.drop`.")
_code("AIS319", E, "constraint does not fit the column type",
      "A range on a non-numeric column, allowed values on a numeric one, or a range with min above max.",
      "data:\n  source: {kind: bundled, name: palmerpenguins}\n  columns:\n    species: categorical\n"
      "    body_mass_g: {type: numeric, range: [6000, 2000]}\n", "Write `range: [min, max]` on numeric columns.")
_code("AIS320", E, "positive class is not an allowed value",
      "`problem.positive_class` is not among the target column's allowed values.",
      "problem:\n  positive_class: Gentoo\ndata:\n  source: {kind: bundled, name: palmerpenguins}\n  columns:\n"
      "    species: {type: categorical, allowed: [Adelie, Chinstrap]}\n", "Use one of the allowed values.")
_code("AIS321", E, "task needs another modality",
      "Text classification needs a text column; image classification needs an image folder or image column.",
      "problem:\n  task: text_classification\n", "Declare the text or image column, or change the task.")
_code("AIS322", E, "target type does not fit the task",
      "A classification target declared numeric, or a regression target that is not numeric.",
      "problem:\n  task: regression\n", "Pick the task that matches the target's type.")
_code("AIS323", E, "secret written in a connection URL",
      "A password or token is written literally in an SQL connection URL. Specs are shared and committed: "
      "secrets come from the environment.",
      "data:\n  source:\n    kind: sql\n    url: postgresql://ml:hunter2@db/penguins\n    table: penguins\n",
      "Write `postgresql://ml:${DB_PASSWORD}@db/penguins` or `url: ${DATABASE_URL}`.")
_code("AIS324", W, "connection URL not taken from the environment",
      "A full connection URL is written in the spec. Hosts and users differ between environments; take the URL "
      "from an environment variable.",
      "data:\n  source:\n    kind: sql\n    url: postgresql://db/penguins\n    table: penguins\n",
      "Write `url: ${DATABASE_URL}`.")
_code("AIS325", E, "the model has no inputs",
      "After removing the target, dropped, PII, time and group columns, no feature is left.",
      "data:\n  source: {kind: bundled, name: palmerpenguins}\n  features: []\n", "Keep at least one feature.")
_code("AIS326", W, "entry listed twice",
      "A column or metric appears twice in the same list.",
      "data:\n  source: {kind: bundled, name: palmerpenguins}\n  drop: [year, year]\n", "Remove the repeat.")
_code("AIS327", W, "positive class on a multiclass target",
      "`positive_class` names one of two classes; the target has more, so it is not used.",
      "problem:\n  positive_class: Adelie\n", "Remove it.")
_code("AIS328", W, "augmentation for another modality",
      "Augmentation is declared for a modality (image, text, tabular) that the task does not have.",
      "data:\n  source: {kind: bundled, name: palmerpenguins}\n  augmentation:\n    image: {flip: horizontal}\n",
      "Remove it.")
_code("AIS329", W, "column looks like personal data",
      "A declared column's name reads like personal data (e-mail, phone, name, address, birth date, ...) but "
      "it is not listed in `compliance.pii`. Personal data must never be a model input, be logged or appear in "
      "a report; a run also counts values that look like e-mail addresses, phone numbers or card numbers in "
      "undeclared columns and warns with the counts (never the values).",
      "data:\n  source: {kind: csv, path: customers.csv}\n  columns:\n    email: categorical\n"
      "    species: categorical\n",
      "List the column under `compliance.pii` (it is then removed before training), or rename it if it holds no "
      "personal data.")
_code("AIS330", E, "split ratios do not add up to 1",
      "train + validation + test must be 1.",
      "data:\n  source: {kind: bundled, name: palmerpenguins}\n  split: {train: 0.7, test: 0.2}\n",
      "Adjust one ratio.")
_code("AIS331", E, "stratify without classes",
      "Stratification keeps class proportions; a continuous (regression, forecasting) target has none.",
      "problem:\n  task: regression\n  target: body_mass_g\ndata:\n  source: {kind: bundled, name: palmerpenguins}\n"
      "  split: {stratify: true}\n", "Remove `stratify`.")
_code("AIS332", W, "random split of a time series",
      "Forecasting with `time_ordered: false` lets the model train on the future of its test rows.",
      "problem:\n  task: forecasting\n  target: body_mass_g\n  time_column: year\n  horizon: 1\n"
      "data:\n  source: {kind: bundled, name: palmerpenguins}\n  split: {time_ordered: false}\n",
      "Remove `time_ordered: false`.")
_code("AIS333", E, "time-ordered split without a time column",
      "A time-ordered split needs `problem.time_column` to order rows by.",
      "data:\n  source: {kind: bundled, name: palmerpenguins}\n  split: {time_ordered: true}\n",
      "Set `problem.time_column`.")
_code("AIS334", W, "validation split not used",
      "scikit-learn models have no early stopping or other use for a validation split: search and `auto` "
      "cross-validate on the training split. The validation rows are held out and used for nothing, so the "
      "model trains on fewer rows. The boosting families (xgboost, lightgbm) use it only to stop early, when "
      "`training.early_stopping` is set.",
      "data:\n  source: {kind: bundled, name: palmerpenguins}\n  split: {train: 0.7, validation: 0.1, test: 0.2}\n",
      "Set `validation: 0` and give the rows to training, or use a model that stops early on it (torch, keras, "
      "or xgboost / lightgbm with `training.early_stopping`).")
_code("AIS335", W, "text augmentation adds nothing",
      "Text augmentation adds round((factor - 1) x n) perturbed copies of the n training rows. With "
      "`data.augmentation.factor` at 1 no copy is added; with `synonym_swap` and `random_deletion` both 0 "
      "the copies are unchanged duplicates.",
      "problem:\n  task: text_classification\n  target: label\ndata:\n  source: {kind: bundled, name: sms_spam}\n"
      "  augmentation:\n    text: {random_deletion: 0.1}\n",
      "Set `data.augmentation.factor` above 1 (1.5 adds a copy of every second row) and a probability above 0.")
_code("AIS336", E, "image folder for a task without images",
      "An `image_folder` source reads one image per row; only `image_classification` takes images.",
      "problem:\n  task: classification\n  target: label\ndata:\n  source: {kind: image_folder, path: images}\n",
      "Use `task: image_classification`, or a tabular source.")
_code("AIS337", W, "image augmentation that adds nothing",
      "Image augmentation adds `round(n × (factor - 1))` altered copies of the training images to the final "
      "fit (never to the test split or to the folds model selection scores). With `factor: 1`, or with no "
      "flip, rotation, crop or colour jitter, no image is added.",
      "problem:\n  task: image_classification\n  target: digit\ndata:\n  source: {kind: bundled, name: digits_images}\n"
      "  columns: {image: image, digit: categorical}\n  augmentation:\n    image: {rotate: 10}\n",
      "Set `factor` above 1 (e.g. 2) and at least one alteration.")
_code("AIS338", E, "a token model reads one text column",
      "The text families that read token ids (`transformer`, `transfer` on the PyTorch back end) take exactly one "
      "input: the text column they tokenise. Other inputs beside it have nowhere to go.",
      "problem:\n  task: text_classification\n  target: label\ndata:\n  source: {kind: csv, path: sms.csv}\n"
      "  columns: {text: text, sender: categorical, label: categorical}\nmodel:\n  family: transformer\n",
      "Set `data.features` to the text column alone, or use a scikit-learn family (TF-IDF + a linear model), "
      "which takes every text column beside the others.")
_code("AIS340", E, "unknown model family",
      "The model family is not one aispec can build. `aispec explain AIS340` and the hint list them.",
      "model:\n  family: random_forrest\n", "Fix the spelling.")
_code("AIS341", E, "family does not fit the task",
      "The model family cannot solve this task (e.g. kmeans for classification).",
      "model:\n  family: kmeans\n", "Pick a family for the task.")
_code("AIS342", E, "back end cannot build the family",
      "The chosen back end has no implementation of the family (e.g. a CNN on scikit-learn).",
      "problem:\n  task: image_classification\n  target: digit\ndata:\n  source: {kind: bundled, name: digits_images}\n"
      "model:\n  family: cnn\n  backend: sklearn\n", "Use `backend: torch` or `keras`.")
_code("AIS343", E, "parameter the family does not have",
      "`model.params` or `model.search.space` names a hyperparameter the family does not take.",
      "model:\n  family: random_forest\n  search:\n    space:\n      max_dept: int(2, 32)\n",
      "Fix the name; the hint lists close parameters.")
_code("AIS344", W, "setting does not apply to this model",
      "`budget` and `candidates` apply to `family: auto`; a search space does not apply to auto; "
      "`data.split.folds` sets the cross-validation of a search or of auto, so it does nothing without them.",
      "model:\n  family: random_forest\n  budget: 1m\n", "Remove the setting.")
_code("AIS345", W, "family ignored because of an ensemble",
      "With `model.ensemble`, the members define the model; `model.family` is not used.",
      "model:\n  family: svm\n  ensemble: {kind: voting, members: [random_forest, logistic_regression]}\n",
      "Remove `family`.")
_code("AIS346", E, "grid search over a continuous range",
      "A grid search enumerates values; `uniform`/`loguniform` ranges have infinitely many.",
      "model:\n  family: random_forest\n  search:\n    method: grid\n    space:\n      ccp_alpha: uniform(0, 0.1)\n",
      "Use `choice(...)` or a random / bayesian search.")
_code("AIS347", W, "parameter both fixed and searched",
      "A hyperparameter appears in `model.params` and in the search space; the search overrides it.",
      "model:\n  family: random_forest\n  params: {max_depth: 5}\n  search:\n    space:\n      max_depth: int(2, 8)\n",
      "Keep one.")
_code("AIS348", W, "cluster count not used or given twice",
      "The family finds the number of clusters itself (dbscan), or the count is set both in "
      "`problem.n_clusters` and in the model's parameters.",
      "problem:\n  task: clustering\n  target: null\n  n_clusters: 3\nmodel:\n  family: dbscan\n",
      "Remove one of them.")
_code("AIS349", E, "isolation forest that cannot be exported",
      "skl2onnx converts an isolation forest only when every tree sees all input columns; `max_features` "
      "below 1.0 (or a count other than the number of columns), fixed or searched, makes the ONNX export "
      "fail, and a deployed model (`deployment.target` rest or batch) runs from ONNX. With "
      "`deployment.target: none` the export is skipped and the report says why.",
      "problem:\n  task: anomaly_detection\n  target: null\nmodel:\n  family: isolation_forest\n"
      "  params: {max_features: 0.5}\n",
      "Leave `max_features` at 1.0 and search `max_samples` instead, or set `deployment.target: none`.")
_code("AIS350", W, "training option ignored by the back end",
      "Optimizer, learning rate, batch size, epochs and dropout apply to neural back ends (torch, keras); "
      "scikit-learn models ignore them (the boosting families xgboost and lightgbm take `early_stopping` only; "
      "their learning rate is `model.params.learning_rate`).",
      "model:\n  family: random_forest\ntraining:\n  epochs: 10\n", "Remove them or use a neural back end.")
_code("AIS351", W, "early stopping without a validation split",
      "Early stopping watches a validation split; `data.split.validation` is 0.",
      "problem:\n  task: image_classification\n  target: digit\ndata:\n  source: {kind: bundled, name: digits_images}\n"
      "model:\n  family: cnn\ntraining:\n  early_stopping: true\n", "Set `data.split.validation: 0.1`.")
_code("AIS352", E, "model cannot label new rows",
      "dbscan and agglomerative clustering label only the rows they were fitted on: they have no `predict`, "
      "so they cannot be exported to ONNX, served or used in batch scoring, and `auto` never picks them.",
      "problem:\n  task: clustering\n  target: null\nmodel:\n  family: dbscan\n",
      "Use kmeans or gaussian_mixture, or set `deployment.target: none` to study the clusters only.")
_code("AIS354", E, "loss does not fit the task",
      "`training.loss` names the loss a network is trained with: `cross_entropy` for classification; `mse`, "
      "`mae` or `huber` for regression (`log_loss`, `l1`, `l2`, `smooth_l1` and Keras's names are accepted "
      "spellings of the same losses). A loss of another task, or an unknown one, would fail the run.",
      "model:\n  family: mlp\n  backend: torch\ntraining:\n  loss: mse\n",
      "Use a loss of the task, or leave `loss` out (cross_entropy or mse).")
_code("AIS355", E, "early stopping watches something the run does not measure",
      "`training.early_stopping.monitor` must be `val_loss` (the default), `loss` (the training loss) or a "
      "metric of the task on the validation split, written `val_<metric>` or `<metric>` (`val_accuracy`, "
      "`f1_macro`, `val_rmse`). Metrics that need a positive class are not watched.",
      "model:\n  family: mlp\n  backend: torch\ndata:\n  source: {kind: bundled, name: palmerpenguins}\n"
      "  split: {train: 0.7, validation: 0.1, test: 0.2}\ntraining:\n  early_stopping: {monitor: val_acuracy}\n",
      "Name the loss or a metric of the task, e.g. `val_accuracy`.")
_code("AIS356", W, "schedule setting not used by its kind",
      "`training.schedule` has settings for some kinds only: `gamma` for step, exponential and plateau, "
      "`step_size` for step, `patience` for plateau. A setting the chosen kind does not read has no effect.",
      "model:\n  family: mlp\n  backend: torch\ntraining:\n  schedule: {kind: cosine, step_size: 5}\n",
      "Remove the setting, or choose the kind that uses it.")
_code("AIS357", E, "parameter value outside what the family takes",
      "The family's record types this parameter (xgboost and lightgbm: `learning_rate` a number > 0 and <= 1, "
      "`max_depth` a whole number, `grow_policy` one of its words, ...). A value in `model.params`, or a search "
      "range in `model.search.space` that proposes one, outside that would fail the run at the first fit — or, "
      "for a search, some of its trials. The list below (and the JSON Schema) gives each typed parameter.",
      "model:\n  family: xgboost\n  search:\n    space:\n      subsample: uniform(0.5, 1.5)\n",
      "Keep the value or range within what the hint says (here `uniform(0.5, 1.0)`).")
_code("AIS358", E, "more convolutional blocks than the images allow",
      "Each convolutional block of a `cnn` ends in a 2×2 max pooling that halves the images' height and width: "
      "`n` blocks need images of at least 2^n pixels a side. Where the size is known before any image is read "
      "(a bundled image dataset, or `data.source.image_size`), more blocks than that cannot be built.",
      "problem:\n  task: image_classification\n  target: digit\ndata:\n  source: {kind: bundled, name: digits_images}\n"
      "model:\n  family: cnn\n  backend: torch\n  params: {conv_layers: 4}\n",
      "Use fewer blocks (`conv_layers`, or fewer entries in `filters`), or larger images (`image_size`).")
_code("AIS353", W, "scaling has no effect on trees",
      "Decision trees and tree ensembles split on thresholds: scaling the features changes nothing but the "
      "numerical precision of the exported model, so it is left out of the pipeline.",
      "model:\n  family: random_forest\ndata:\n  source: {kind: bundled, name: palmerpenguins}\n"
      "  cleaning: {scaling: minmax}\n",
      "Remove `cleaning.scaling`.")
_code("AIS360", E, "unknown metric",
      "A metric name aispec does not compute.",
      "metrics:\n  primary: acuracy\n", "Fix the spelling.")
_code("AIS361", E, "metric does not fit the task",
      "The metric is not defined for the task (e.g. r2 for classification).",
      "metrics:\n  primary: r2\n", "Use a metric of the task.")
_code("AIS362", E, "acceptance criterion on a metric that is not computed",
      "A gate names a metric that the run does not compute: neither the primary metric, a reported one, "
      "nor an operational one.",
      "metrics:\n  report: [accuracy]\n  acceptance: [roc_auc_ovr >= 0.9]\n", "Add the metric to `metrics.report`.")
_code("AIS363", E, "binary metric on a multiclass target",
      "f1, precision, recall and brier need two classes; the target has more.",
      "metrics:\n  primary: f1\n", "Use `f1_macro` or `f1_weighted`.")
_code("AIS364", E, "criterion can never hold",
      "The threshold is outside the metric's range, e.g. `accuracy >= 90` (accuracy is at most 1).",
      "metrics:\n  acceptance: [accuracy >= 90]\n", "Write `accuracy >= 0.9` or `accuracy >= 90%`.")
_code("AIS365", W, "criterion points the wrong way",
      "A gate caps a metric where higher is better (or floors one where lower is better).",
      "metrics:\n  acceptance: [accuracy <= 0.9]\n", "Flip the comparison.")
_code("AIS366", E, "metric needs true labels",
      "adjusted_rand, nmi and precision_at_contamination compare with labels; set `problem.target` to a label "
      "column used for evaluation only.",
      "problem:\n  task: clustering\n  target: null\nmetrics:\n  report: [adjusted_rand]\n",
      "Set `problem.target`.")
_code("AIS367", E, "binary metric without a positive class",
      "precision, recall, f1 and brier (and average precision on two classes) measure one class, the "
      "positive one. Without `problem.positive_class` the choice would be arbitrary (alphabetical), and a gate "
      "on recall could pass on the majority class while the class that matters is missed.",
      "problem:\n  task: classification\n  target: diagnosis\ndata:\n  source: {kind: bundled, name: breast_cancer}\n"
      "metrics:\n  report: [accuracy, recall]\n  acceptance: [recall >= 0.9]\n",
      "Set `problem.positive_class` to the class the metric is about (the hint proposes the rarer one).")
_code("AIS370", W, "GPU requested for a CPU-only back end",
      "scikit-learn trains on the CPU; `accelerator: gpu` has no effect.",
      "hardware:\n  accelerator: gpu\n", "Use `accelerator: cpu`, or a torch / keras model.")
_code("AIS371", E, "distributed setting cannot work",
      "Several workers, or a cluster setting (address, cpus/gpus/memory per worker), without an engine; or an "
      "engine the back end cannot use (torch_ddp for scikit-learn).",
      "hardware:\n  distributed: {workers: 4}\n", "Set `engine: ray`.")
_code("AIS380", W, "deployment setting ignored for this target",
      "Latency budgets, the API settings, the serving image, Kubernetes and A/B tests apply to a REST service.",
      "deployment:\n  target: batch\n  latency_budget: 50ms\n", "Remove it, or deploy as rest.")
_code("AIS381", E, "inconsistent replica counts",
      "min_replicas above max_replicas, or replicas outside [min, max].",
      "deployment:\n  kubernetes: {min_replicas: 5, max_replicas: 2}\n", "Fix the bounds.")
_code("AIS382", E, "API key auth without a key variable",
      "`auth: api_key` needs `api_key_env`, the environment variable that holds the key (never the key itself).",
      "deployment:\n  api: {auth: api_key}\n", "Add `api_key_env: API_KEY`.")
_code("AIS383", E, "optimisation not available for the back end",
      "fp16 quantization is not built for any back end yet: scikit-learn's ONNX-ML operators take float32 only, "
      "and half-precision export of networks is not built (onnxruntime's CPU kernels gain nothing from it).",
      "deployment:\n  optimize: {quantize: fp16}\n", "Use `quantize: int8`.")
_code("AIS384", W, "latency budget unusually long",
      "A per-request latency budget over a minute is almost certainly a unit mistake.",
      "deployment:\n  latency_budget: 50m\n", "Did you mean `50ms`?")
_code("AIS385", W, "int8 quantization changes nothing for this model",
      "`deployment.optimize.quantize: int8` quantizes the weights of MatMul operators (onnxruntime's dynamic "
      "quantization). Tree ensembles, linear models, SVMs, kNN and naive Bayes become ONNX-ML or other "
      "operators with no int8 form, and kmeans / gaussian_mixture use Gemm, which it does not quantize: "
      "the float32 model is served and the report records that quantization was skipped. MLPs benefit.",
      "model:\n  family: random_forest\ndeployment:\n  optimize: {quantize: int8}\n",
      "Remove `quantize`, or use a family that benefits (`mlp`).")
_code("AIS390", W, "monitoring without a deployment",
      "Drift monitoring and prediction logging run in the service; `deployment.target: none` has none.",
      "deployment:\n  target: none\nmonitoring:\n  log_predictions: true\n", "Remove it or deploy the model.")
_code("AIS391", E, "retraining trigger without its input",
      "Retraining on drift needs drift monitoring; on a schedule, a cron schedule; on performance, logged "
      "predictions for feedback.",
      "monitoring:\n  retraining: {trigger: drift}\n", "Add `monitoring.drift`.")
_code("AIS395", E, "fairness criteria without a sensitive attribute",
      "Fairness metrics compare groups; `compliance.sensitive` names the attribute that defines them.",
      "compliance:\n  fairness: [demographic_parity_difference <= 0.1]\n", "Add `sensitive: [sex]`.")
_code("AIS396", E, "not a fairness metric",
      "`compliance.fairness` takes fairness metrics; quality gates go under `metrics.acceptance`.",
      "compliance:\n  sensitive: [sex]\n  fairness: [accuracy >= 0.9]\ndata:\n  source: {kind: bundled, name: "
      "palmerpenguins}\n  drop: [sex]\n", "Move the gate to `metrics.acceptance`.")
_code("AIS397", W, "GDPR without a documented purpose",
      "GDPR requires a stated purpose of processing; the model card takes it from `compliance.intended_use`.",
      "compliance:\n  regulations: [gdpr]\n", "Add `intended_use`.")
_code("AIS398", W, "high-risk system without safeguards",
      "`risk_level: high` (e.g. EU AI Act) calls for fairness gates and documented limitations.",
      "compliance:\n  risk_level: high\n", "Add `fairness` and `limitations`.")
_code("AIS399", W, "PII logged with no regulation declared",
      "Predictions are logged and the data contains PII, but no regulation is declared.",
      "monitoring:\n  log_predictions: true\ncompliance:\n  pii: [sex]\n", "Declare `regulations: [gdpr]` or others.")

# ------------------------------------------------------------ 4xx build plan
_code("AIS410", W, "setting not built yet",
      "The spec is valid, but `aispec build` cannot honour this setting yet: the generated project would "
      "ignore it. `check` warns so that nothing passes silently (`--strict` makes it an error); `build` "
      "refuses specs whose task, back end or data source it cannot build (AIS401-AIS403).",
      "hardware:\n  distributed: {engine: dask, workers: 4}\n",
      "Remove the setting, or keep it as a note of intent and accept the warning.")
_code("AIS401", E, "task not buildable yet",
      "`aispec build` generates projects for classification, regression, clustering and anomaly detection; "
      "the other tasks are checked but not built yet.",
      "problem:\n  task: forecasting\n", "Check the spec now; build it when its back end lands.")
_code("AIS402", E, "back end not buildable yet",
      "The back end is declared but `aispec build` does not generate projects for it yet, or it does not "
      "build this family yet (each back end declares the families it builds in the runtime's registry).",
      "model:\n  family: cnn\n", "Use a family of a back end that is built (scikit-learn, or `mlp` on Keras).")
_code("AIS403", E, "data source not buildable yet",
      "The back end cannot read this source for this task yet: images are read from an `image_folder` (or the "
      "bundled `digits_images`), not from a column of a table (paths or encoded bytes in a CSV).",
      "problem:\n  task: image_classification\n  target: label\ndata:\n  source: {kind: csv, path: images.csv}\n"
      "  columns: {image: image, label: categorical}\n",
      "Use `source: {kind: image_folder, path: ...}`, one sub-folder of images per class.")
_code("AIS420", E, "model family's library not installed",
      "A family built on a library of its own (xgboost: `xgboost-cpu`, lightgbm: `lightgbm`, both with "
      "`onnxmltools` for the ONNX export) needs it when the project runs — also when it is one of "
      "`family: auto`'s candidates. `aispec run` and the generated project stop with this error rather than "
      "skip the family, which would change the result without a word. `aispec check` and `build` never need it: "
      "the generated requirements.txt lists it.",
      "", "Install the project's requirements (`pip install -r requirements.txt`) or aispec's extra "
      "(`pip install 'aispec[gbm]'`); or, for `family: auto`, list `model.candidates` without the family.")
_code("AIS490", E, "rendering failed",
      "A template failed to render. This is a bug in aispec, not in the spec.",
      "", "Report it; `--debug` shows the traceback.")

# --------------------------------------------------------- 5xx write / update
_code("AIS501", E, "rebuild would overwrite your edits",
      "A generated file was edited (or deleted) since the last build, and the new build changes it in a way "
      "that cannot be merged: your edits and the new text conflict and the build runs with `--on-conflict "
      "stop`, or the file has no base to merge with (deleted, not written by aispec, or its copy under "
      "`.aispec/base/` is gone). aispec never overwrites an edit silently: the build stops and writes "
      "nothing. Merge the change into the spec (or the file) and rebuild, or rebuild with --force, which "
      "first saves your version under `.aispec/backup/`.",
      "", "Rebuild with --force, or undo the edit.")
_code("AIS502", E, "output location unusable",
      "The output is not a directory, or a generated path would leave it.",
      "", "Choose another output directory with --out.")
_code("AIS503", E, "writing the project failed",
      "An I/O error happened while writing; every file already replaced was restored, so the old project "
      "is as it was.",
      "", "Fix the cause (disk space, permissions) and rebuild.")
_code("AIS504", E, "conflict markers written",
      "You edited a generated file, and the new build changes it on the same or neighbouring lines (two "
      "changes that touch, like two insertions at one place, are a conflict too, as in git). The rest of "
      "the project was written; this file holds the merge, with each conflict between `<<<<<<< yours`, "
      "`=======` and `>>>>>>> generated now`, and your version from before the build is saved under "
      "`.aispec/backup/`. The build exits with status 1 until you resolve it.",
      "", "Keep what you want in each conflict and delete the markers, then rebuild. `--on-conflict stop` "
      "makes the build stop (AIS501) instead of writing markers.")
_code("AIS505", E, "unresolved conflict markers",
      "A generated file still holds the conflict markers an earlier build wrote into it. aispec does not "
      "build on top of an unresolved conflict: the build stops and writes nothing.",
      "", "Resolve the conflict (your version from before it is under `.aispec/backup/`) and rebuild, or "
      "rebuild with --force to regenerate the file (the marked file is saved under `.aispec/backup/`).")

# ---------------------------------------------------------------- 9xx internal
_code("AIS900", E, "internal error",
      "aispec itself failed. This is a bug: please report it with the spec. `--debug` shows the traceback.",
      "", "Report the bug.")

CODES: dict[str, CodeInfo] = {c.code: c for c in _TABLE}


def make(
    code: str,
    message: str,
    *,
    span: Span | None = None,
    loc: Loc = (),
    hint: str | None = None,
    file: str | None = None,
    severity: Severity | None = None,
) -> Diagnostic:
    """Build a diagnostic for a registered code (severity from the registry)."""
    info = CODES[code]  # KeyError here is a programming error: every code is registered
    return Diagnostic(code, severity or info.severity, message, span, loc, hint, file)
