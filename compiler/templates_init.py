"""``aispec init``: a starter spec per task, taken from the bundled examples so it runs as written."""

from __future__ import annotations

import re
from importlib import resources

from .raw import NodeComments
from .source import SourceFile

# task → the example a new spec starts from (all use data that installed packages carry)
TASK_TEMPLATES: dict[str, str] = {
    "classification": "penguins-classification.yaml",
    "regression": "diabetes-regression.yaml",
    "clustering": "iris-clustering.yaml",
    "anomaly_detection": "breast-cancer-anomaly.yaml",
    "forecasting": "co2-forecasting.yaml",
    "text_classification": "sms-spam-text.yaml",
    "image_classification": "digits-image-sklearn.yaml",  # not the torch CNN: a starter needs no torch extra
}


def starter_problem(task: str) -> str | None:
    """Why `aispec init` offers no starter for ``task`` (its example cannot be built yet), or None.

    Read from the example itself with the same table `aispec build` uses, so `init` never hands out
    a spec that `build` refuses."""
    from .api import check_text
    from .buildable import unbuildable

    filename = TASK_TEMPLATES[task]
    text = (resources.files("aispec.specs") / "examples" / filename).read_text(encoding="utf-8")
    result = check_text(text, filename)
    if result.resolved is None:
        return f"the bundled example {filename} does not check"  # a packaging bug
    gaps = list(unbuildable(result.resolved))
    return gaps[0].message if gaps else None


def starter_tasks() -> list[str]:
    """The tasks `aispec init` has a buildable starter for."""
    return [task for task in TASK_TEMPLATES if starter_problem(task) is None]


def slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9_-]+", "-", name.lower()).strip("-_")
    if not slug or not slug[0].isalpha():
        slug = f"project-{slug}".rstrip("-")
    return slug[:63]


def render_init(task: str, name: str, syntax: str) -> str:
    from .formatting import parse_with_comments

    filename = TASK_TEMPLATES[task]
    text = (resources.files("aispec.specs") / "examples" / filename).read_text(encoding="utf-8")
    parsed, comments = parse_with_comments(SourceFile(filename, text))
    if parsed.raw is None:
        raise ValueError(f"the bundled template {filename} cannot be read")  # a packaging bug
    raw = dict(parsed.raw)
    project = {k: v for k, v in raw["project"].items() if k != "owner"}
    raw["project"] = {**project, "name": slugify(name), "version": "0.1.0"}
    # The example's `$schema` line is relative to the repository; point a YAML spec at the
    # installed schema instead (editors read it), and drop it from DSL files (no YAML server there).
    for entry in comments.values():
        kept = [c for c in entry.leading if "yaml-language-server" not in c]
        while kept and kept[0].strip() == "#" and len(kept) < len(entry.leading):
            kept.pop(0)  # the blank comment line that followed the removed one
        entry.leading = kept
    if syntax == "yaml":
        schema = resources.files("aispec.schemas") / "aispec-spec-v1.schema.json"
        first = comments.setdefault((next(iter(raw)),), NodeComments())
        first.leading.insert(0, f"# yaml-language-server: $schema={schema}")
    if syntax == "dsl":
        from .dsl_printer import print_dsl

        return print_dsl(raw, comments)
    from .yaml_printer import print_yaml

    return print_yaml(raw, comments)
