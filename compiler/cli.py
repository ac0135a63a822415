"""The ``aispec`` command line. Exit codes: 0 clean, 1 errors in the spec, 2 usage error, 3 internal error."""

from __future__ import annotations

import json
import os
import sys
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from . import api
from .diagnostics import Diagnostic, format_json, format_text, sort_diagnostics
from .source import SourceFile
from .templates_init import TASK_TEMPLATES

if TYPE_CHECKING:  # `build` pulls in Jinja: keep it off the `check` path
    from .build import BuildResult
    from .image import ImageError

# One line per paragraph: the help renderer wraps them to the terminal.
_HELP = (
    "aispec compiles one spec file (YAML or the aispec language) that says what an ML project is (the problem, "
    "the data and its schema, the model and its search, metrics and acceptance gates, deployment, monitoring, "
    "compliance) into a complete, runnable, editable scikit-learn project.\n\n"
    "Write a spec with `init`, find its mistakes with `check`, generate the project with `build` (`plan` shows "
    "the changes first), train, evaluate, gate, export and document it with `run`, serve the trained model over "
    "REST with `serve` and package it as a container with `image build`. `fmt`, `convert`, `show`, `schema`, "
    "`explain` and `datasets` help along the way.\n\n"
    "Exit codes: 0 ok, 1 problems in the spec (or a failed step), 2 usage error, 3 internal error."
)

app = typer.Typer(
    name="aispec",
    help=_HELP,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

EXIT_OK, EXIT_SPEC_ERRORS, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3


class OutputFormat(str, Enum):
    text = "text"
    json = "json"


class Syntax(str, Enum):
    yaml = "yaml"
    dsl = "dsl"


class ShowFormat(str, Enum):
    yaml = "yaml"
    dsl = "dsl"
    json = "json"


def _color(no_color: bool) -> bool:
    return not no_color and sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def _print_diagnostics(diags: tuple[Diagnostic, ...], source: SourceFile | None, no_color: bool) -> None:
    if diags:
        typer.echo(format_text(diags, source, color=_color(no_color)), err=True)


def _print_version(value: bool) -> None:
    if value:
        from .version import VERSION

        typer.echo(f"aispec {VERSION}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def _main(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of internal errors.")] = False,
    version: Annotated[bool, typer.Option("--version", help="Print the aispec version and exit.", is_eager=True,
                                          callback=_print_version)] = False,
) -> None:
    if debug:
        os.environ["AISPEC_DEBUG"] = "1"


@app.command()
def check(
    specs: Annotated[list[Path], typer.Argument(help="Spec files (*.yaml or *.aispec).")],
    output: Annotated[OutputFormat, typer.Option("--format", "-f", help="text for people, json for tools.")] = (
        OutputFormat.text),
    strict: Annotated[bool, typer.Option("--strict", help="Treat warnings as errors.")] = False,
    no_color: Annotated[bool, typer.Option("--no-color")] = False,
) -> None:
    """Report every mistake in the specs, like a compiler."""
    failed = False
    collected: list[Diagnostic] = []
    for path in specs:
        result = api.check_file(path)
        collected.extend(result.diagnostics)
        failed |= not result.ok or (strict and bool(result.warnings))
        if output is OutputFormat.text:
            if result.diagnostics:
                _print_diagnostics(result.diagnostics, result.source, no_color)
            else:
                typer.echo(f"{path}: ok")
    if output is OutputFormat.json:
        typer.echo(format_json(sort_diagnostics(collected)))
    raise typer.Exit(EXIT_SPEC_ERRORS if failed else EXIT_OK)


def _read_or_exit(path: Path, no_color: bool) -> SourceFile:
    source = api.read_source(path)
    if isinstance(source, Diagnostic):
        _print_diagnostics((source,), None, no_color)
        raise typer.Exit(EXIT_SPEC_ERRORS)
    return source


@app.command()
def fmt(
    specs: Annotated[list[Path], typer.Argument(help="Spec files to format in place.")],
    check_only: Annotated[bool, typer.Option("--check", help="Change nothing; exit 1 if a file would change.")] = (
        False),
    stdout: Annotated[bool, typer.Option("--stdout", help="Print the result instead of writing the file.")] = False,
    no_color: Annotated[bool, typer.Option("--no-color")] = False,
) -> None:
    """Format specs canonically (either syntax), keeping comments. Idempotent.

    The formatted text is read back first: a format that would change the data or the comments is
    refused (AIS112) and the file left alone.
    """
    from .formatting import format_source

    status = EXIT_OK
    for path in specs:
        source = _read_or_exit(path, no_color)
        result = format_source(source)
        if result.text is None:
            _print_diagnostics(result.diagnostics, source, no_color)
            status = EXIT_SPEC_ERRORS
            continue
        if stdout:
            _write_stdout(result.text)
        elif result.text != source.text:
            if check_only:
                typer.echo(f"{path}: would reformat", err=True)
                status = EXIT_SPEC_ERRORS
            else:
                _write_atomic(path, result.text)
                typer.echo(f"{path}: formatted", err=True)
    raise typer.Exit(status)


def _write_stdout(text: str) -> None:
    """The text exactly, as UTF-8 (``typer.echo`` would strip what looks like terminal escapes)."""
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is None:  # a text-only stream (redirected in-process)
        sys.stdout.write(text)
        return
    sys.stdout.flush()
    buffer.write(text.encode("utf-8"))
    buffer.flush()


def _write_atomic(path: Path, text: str) -> None:
    """Write via a temporary file and a rename, so a failure never leaves half a spec."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.aispec-tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _syntax_of(path: Path) -> Syntax:
    return Syntax.dsl if path.suffix == ".aispec" else Syntax.yaml


@app.command()
def convert(
    spec: Annotated[Path, typer.Argument(help="The spec to convert.")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here (syntax from the suffix).")] = None,
    to: Annotated[Syntax | None, typer.Option("--to", help="Target syntax; default: the other one.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing output file.")] = False,
    no_color: Annotated[bool, typer.Option("--no-color")] = False,
) -> None:
    """Convert a spec between YAML and the aispec language, losslessly (comments kept).

    The converted text is read back first: a conversion that would change the data or the comments
    is refused (AIS112) and nothing is written.
    """
    from .formatting import format_source

    source = _read_or_exit(spec, no_color)
    if to is None:
        to = _syntax_of(output) if output is not None else (
            Syntax.yaml if _syntax_of(spec) is Syntax.dsl else Syntax.dsl)
    result = format_source(source, to.value)
    if result.text is None:
        _print_diagnostics(result.diagnostics, source, no_color)
        raise typer.Exit(EXIT_SPEC_ERRORS)
    if output is None:
        _write_stdout(result.text)
        raise typer.Exit(EXIT_OK)
    if output.exists() and not force:
        typer.echo(f"{output} exists; pass --force to overwrite it", err=True)
        raise typer.Exit(EXIT_USAGE)
    _write_atomic(output, result.text)
    typer.echo(f"wrote {output}", err=True)


@app.command()
def schema(
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the schema to this file.")] = None,
) -> None:
    """Print the JSON Schema of the spec format (for editors: yaml-language-server)."""
    from .schema_export import schema_text

    text = schema_text()
    if output is None:
        typer.echo(text, nl=False)
    else:
        _write_atomic(output, text)
        typer.echo(f"wrote {output}", err=True)


@app.command()
def explain(
    code: Annotated[str | None, typer.Argument(help="A diagnostic code, e.g. AIS313; none lists every code.")] = (
        None),
) -> None:
    """Explain a diagnostic code, with an example and its fix (no code: list them all)."""
    from .explain import explain_text, list_codes, unknown_code_text

    if code is None:
        typer.echo(list_codes())
        raise typer.Exit(EXIT_OK)
    text = explain_text(code)
    if text is None:
        typer.echo(unknown_code_text(code), err=True)
        raise typer.Exit(EXIT_USAGE)
    typer.echo(text)


@app.command()
def show(
    spec: Annotated[Path, typer.Argument(help="The spec to show.")],
    resolved: Annotated[bool, typer.Option("--resolved", help="Make every default explicit.")] = False,
    output: Annotated[ShowFormat, typer.Option("--format", "-f")] = ShowFormat.yaml,
    no_color: Annotated[bool, typer.Option("--no-color")] = False,
) -> None:
    """Show the validated spec; with --resolved, with every default and inferred value filled in."""
    result = api.check_file(spec)
    if not result.ok or result.spec is None:
        _print_diagnostics(result.diagnostics, result.source, no_color)
        raise typer.Exit(EXIT_SPEC_ERRORS)
    _print_diagnostics(result.warnings, result.source, no_color)
    model = result.resolved if resolved and result.resolved is not None else result.spec
    data = model.model_dump(mode="json", exclude_none=True, exclude_unset=not resolved)
    if output is ShowFormat.json:
        typer.echo(json.dumps(data, indent=2))
    elif output is ShowFormat.dsl:
        from .dsl_printer import print_dsl

        typer.echo(print_dsl(data), nl=False)
    else:
        from .yaml_printer import print_yaml

        typer.echo(print_yaml(data), nl=False)


@app.command()
def init(
    output: Annotated[Path, typer.Argument(help="The spec file to create (*.yaml or *.aispec).")] = Path(
        "spec.yaml"),
    task: Annotated[str, typer.Option("--task", "-t", help=f"The task: {', '.join(TASK_TEMPLATES)}.")] = (
        "classification"),
    name: Annotated[str | None, typer.Option("--name", help="Project name (default: from the file name).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Create a new spec from the template for a task; it checks, builds and runs on bundled data as written."""
    from .templates_init import render_init, starter_problem, starter_tasks

    if task not in TASK_TEMPLATES:
        from .diagnostics import choices_hint

        typer.echo(f"unknown task '{task}': {choices_hint(task, starter_tasks())}", err=True)
        raise typer.Exit(EXIT_USAGE)
    problem = starter_problem(task)
    if problem is not None:
        typer.echo(f"no starter for '{task}': {problem}; starters: {', '.join(starter_tasks())}", err=True)
        raise typer.Exit(EXIT_USAGE)
    if output.exists() and not force:
        typer.echo(f"{output} exists; pass --force to overwrite it", err=True)
        raise typer.Exit(EXIT_USAGE)
    try:
        text = render_init(task, name or output.stem, _syntax_of(output).value)
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(EXIT_USAGE) from exc
    _write_atomic(output, text)
    typer.echo(f"wrote {output}: edit it, then run `aispec check {output}`", err=True)


def _print_build(result: BuildResult, no_color: bool, *, show_diff: bool) -> None:
    _print_diagnostics(result.diagnostics, result.check.source, no_color)
    if result.write_plan is None:
        return
    marks = {"add": "+", "update": "~", "merge": "M", "delete": "-", "conflict": "!", "markers": "!", "keep": "=",
             "unchanged": " "}
    tints = {"add": "32", "update": "33", "merge": "36", "delete": "31", "conflict": "1;31", "markers": "1;31",
             "keep": "2"}
    color = _color(no_color)
    for change in result.write_plan.changes:
        if change.action == "unchanged":
            continue
        reason = f"  ({change.reason})" if change.reason else ""
        line = f"{marks[change.action]} {change.action:<8} {change.path}{reason}"
        if change.backup:
            line += f"\n             your version: {change.backup}"
        if color and change.action in tints:
            line = f"\x1b[{tints[change.action]}m{line}\x1b[0m"
        typer.echo(line, err=True)
        if show_diff and change.diff:
            typer.echo(change.diff, err=True)
    counts = {a: sum(1 for c in result.write_plan.changes if c.action == a) for a in marks}
    summary = ", ".join(f"{n} {a}" for a, n in counts.items() if n)
    typer.echo(f"{result.write_plan.target}: {summary or 'nothing to do'}", err=True)


class OnConflict(str, Enum):
    markers = "markers"
    stop = "stop"


@app.command()
def build(
    spec: Annotated[Path, typer.Argument(help="The spec to build.")],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Project folder (default: ./<project name>).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite files you edited (saved in .aispec/backup/).")] = (
        False),
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would change, with a diff; write nothing.")] = (
        False),
    on_conflict: Annotated[OnConflict, typer.Option("--on-conflict", help="Where your edits and the new generated "
                                                    "text conflict: write the file with conflict markers (your "
                                                    "version saved in .aispec/backup/), or stop and write "
                                                    "nothing. Either way the exit status is 1.")] = (
        OnConflict.markers),
    no_color: Annotated[bool, typer.Option("--no-color")] = False,
) -> None:
    """Compile a spec into a runnable, editable ML project."""
    from .build import build as run_build

    result = run_build(spec, out, force=force, dry_run=dry_run,
                       on_conflict="stop" if on_conflict is OnConflict.stop else "markers")
    _print_build(result, no_color, show_diff=dry_run)
    raise typer.Exit(EXIT_OK if result.ok else EXIT_SPEC_ERRORS)


@app.command("plan")
def plan_command(
    spec: Annotated[Path, typer.Argument(help="The spec to plan.")],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Project folder (default: ./<project name>).")] = None,
    on_conflict: Annotated[OnConflict, typer.Option("--on-conflict", help="As for build.")] = OnConflict.markers,
    no_color: Annotated[bool, typer.Option("--no-color")] = False,
) -> None:
    """What `aispec build` would add, change and delete, with a diff (same as build --dry-run)."""
    from .build import build as run_build

    result = run_build(spec, out, dry_run=True, on_conflict="stop" if on_conflict is OnConflict.stop else "markers")
    _print_build(result, no_color, show_diff=True)
    raise typer.Exit(EXIT_OK if result.ok else EXIT_SPEC_ERRORS)


@app.command()
def run(
    spec: Annotated[Path, typer.Argument(help="The spec to build and run.")],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Project folder (default: ./<project name>).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite files you edited (saved in .aispec/backup/).")] = (
        False),
    no_color: Annotated[bool, typer.Option("--no-color")] = False,
) -> None:
    """Build the project, then train, evaluate, gate, export and document it, end to end."""
    from .build import build as run_build
    from .run import run_project

    result = run_build(spec, out, force=force)
    _print_build(result, no_color, show_diff=False)
    if not result.ok or result.plan is None or result.write_plan is None:
        raise typer.Exit(EXIT_SPEC_ERRORS)
    from .buildable import families_of

    backend = result.plan.spec.model.backend
    raise typer.Exit(run_project(result.write_plan.target, result.plan.package, no_color=no_color, spec=spec,
                                 backend=backend.value if backend is not None else "sklearn",
                                 families=families_of(result.plan.spec)))


@app.command()
def serve(
    project: Annotated[Path, typer.Argument(help="A built and trained project folder (or its artifacts/).")],
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="0: any free port (the start-up message names it).")] = 8000,
    access_log: Annotated[bool, typer.Option("--access-log", help="Log every request (off by default).")] = False,
    log_level: Annotated[str, typer.Option("--log-level", help="critical, error, warning, info or debug.")] = (
        "warning"),
    allow_failed_gates: Annotated[bool, typer.Option(
        "--allow-failed-gates", help="Serve a model that failed the gates of its training run; the log, "
                                     "/v1/model and /metrics say so.")] = False,
) -> None:
    """Serve a trained project's ONNX model over REST, without Docker.

    Exit status: 1 when the model failed its gates (see --allow-failed-gates), 2 for an invalid
    serving.json or an address in use.
    """
    # In this process, not a child: a SIGTERM to `aispec serve` stops the server itself (uvicorn shuts
    # down cleanly), where a child would be left running, re-parented to PID 1.
    from aispec.runtime.serving.__main__ import main as serve_main

    artifacts = project if (project / "serving.json").exists() else project / "artifacts"
    if not (artifacts / "serving.json").exists():
        typer.echo(f"{artifacts}: no serving.json; train the project first (aispec run, or python -m <package>)",
                   err=True)
        raise typer.Exit(EXIT_USAGE)
    argv = [str(artifacts), "--host", host, "--port", str(port), "--log-level", log_level]
    argv += ["--access-log"] * access_log + ["--allow-failed-gates"] * allow_failed_gates
    raise typer.Exit(serve_main(argv))


image_app = typer.Typer(help="The serving image of a trained project, built through the Docker Engine API.",
                        no_args_is_help=True)
app.add_typer(image_app, name="image")


def _image_error(exc: ImageError) -> typer.Exit:
    typer.echo(f"error: {exc.message}", err=True)
    if exc.hint:
        typer.echo(f"  hint: {exc.hint}", err=True)
    return typer.Exit(EXIT_SPEC_ERRORS)


@image_app.command("build")
def image_build(
    project: Annotated[Path, typer.Argument(help="A built and trained project folder.")],
    tag: Annotated[str | None, typer.Option("--tag", "-t", help="Image name (default: the one in "
                                            "docker-compose.yaml and the Kubernetes manifests).")] = None,
    base_image: Annotated[str | None, typer.Option("--base-image", help="Base image (default: the "
                                                   "Dockerfile's, from deployment.image.base).")] = None,
    offline: Annotated[bool, typer.Option("--offline", help="Install only from wheelhouse/ and pull nothing.")] = (
        False),
    wheelhouse: Annotated[Path | None, typer.Option("--wheelhouse", help="Copy the wheels of this folder into "
                                                    "the project's wheelhouse/ first (implies nothing else).")] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Do not reuse cached layers.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Do not show the engine's build output.")] = False,
    allow_failed_gates: Annotated[bool, typer.Option(
        "--allow-failed-gates", help="Build an image of a model that failed the gates of its training run; the "
                                     "image carries AISPEC_ALLOW_FAILED_GATES=1 and labels saying so.")] = False,
) -> None:
    """Build the project's serving image (non-root, model baked in, no training framework).

    Refuses (exit 1) a model that failed the gates of its training run, unless --allow-failed-gates.
    """
    from .image import ImageError, build_image

    def log(line: str) -> None:
        if not quiet:
            typer.echo(line, err=True)

    try:
        built = build_image(project, tag=tag, base_image=base_image, offline=offline, wheelhouse=wheelhouse,
                            no_cache=no_cache, log=log, allow_failed_gates=allow_failed_gates)
    except ImageError as exc:
        raise _image_error(exc) from None
    typer.echo(f"{built.tag}  {built.image_id[:19]}  {built.size_bytes / 1e6:.0f} MB  user {built.user or 'root'}")


@image_app.command("wheelhouse")
def image_wheelhouse(
    project: Annotated[Path, typer.Argument(help="A built project folder.")],
    dest: Annotated[Path | None, typer.Option("--dest", help="Where to put the wheels (default: "
                                              "PROJECT/wheelhouse).")] = None,
    python_version: Annotated[str | None, typer.Option("--python-version", help="The image's Python, e.g. 3.11 "
                                                       "(default: this machine's).")] = None,
    platform: Annotated[list[str] | None, typer.Option("--platform", help="The image's platform tag, e.g. "
                                                       "manylinux2014_x86_64 (repeatable).")] = None,
    aispec_wheel: Annotated[Path | None, typer.Option("--aispec-wheel", help="Use this aispec wheel.")] = None,
) -> None:
    """Download the serving dependencies' wheels, for `aispec image build --offline` on an air-gapped machine."""
    from .image import ImageError, fill_wheelhouse

    try:
        wheels = fill_wheelhouse(project, dest=dest, python_version=python_version, platforms=platform or (),
                                 aispec_wheel=aispec_wheel, log=lambda line: typer.echo(line, err=True))
    except ImageError as exc:
        raise _image_error(exc) from None
    typer.echo(f"{len(wheels)} wheels in {dest or project / 'wheelhouse'}")


@app.command()
def ui(
    target: Annotated[Path | None, typer.Argument(help="A spec to open, or the workspace folder (default: the current "
                                                  "folder). Uploads, specs and built projects stay in it.")] = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on. Anything but loopback lets others on the "
                                      "network use the editor (a warning says so).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="0: any free port.")] = 8501,
    max_upload_mb: Annotated[int, typer.Option("--max-upload-mb", help="Largest data file the browser may upload.")] = (
        200),
    run_timeout: Annotated[str, typer.Option("--run-timeout", help="Wall-clock limit of a training run, e.g. 30m.")] = (
        "30m"),
    run_memory: Annotated[str, typer.Option("--run-memory", help="Memory limit of a training run, e.g. 8GiB.")] = (
        "8GiB"),
    open_browser: Annotated[bool, typer.Option("--open", help="Open the editor in the default browser.")] = False,
) -> None:
    """Start the editor in the browser (pip install 'aispec[ui]'): a spec from a data file, a form and the text
    with diagnostics as you type, build, run, gates, report, and a prediction from the served model.

    Listens on 127.0.0.1 by default. Stops with Ctrl+C (or SIGTERM), and stops its training runs and services.
    """
    from aispec.schemas.expressions import ExpressionError, parse_duration, parse_size
    from aispec.ui.launch import LaunchError, open_when_ready, plan

    from .run import call_forwarding_signals

    try:
        seconds = parse_duration(run_timeout).seconds
        memory = parse_size(run_memory)
    except ExpressionError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(EXIT_USAGE) from None
    try:
        launch = plan(target, host=host, port=port, max_upload_mb=max_upload_mb, run_timeout_s=seconds,
                      run_memory=f"{int(memory.bytes)}B")
    except LaunchError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_USAGE) from None
    if launch.warning:
        typer.echo(launch.warning, err=True)
    opened = f" on {launch.spec.name}" if launch.spec is not None else ""
    typer.echo(f"aispec editor{opened}: {launch.url}  (workspace {launch.workspace}; stop with Ctrl+C)")
    if open_browser:
        open_when_ready(launch.url)
    raise typer.Exit(call_forwarding_signals(launch.command, env=launch.env))


@app.command()
def datasets() -> None:
    """List the bundled datasets a spec can use offline (source kind: bundled)."""
    from aispec.schemas.catalog import DATASETS

    for ds in DATASETS.values():
        target = f"target {ds.default_target}" if ds.default_target else ""
        typer.echo(f"{ds.name:<16} {ds.n_rows:>6} rows  {len(ds.columns):>3} columns  {target:<22} "
                   f"[{ds.provider}] {ds.description}")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception:
        if os.environ.get("AISPEC_DEBUG"):
            raise
        import traceback

        last = traceback.format_exc().strip().splitlines()[-1]
        typer.echo(f"aispec: internal error: {last}\n(run with --debug for the traceback; please report it)",
                   err=True)
        sys.exit(EXIT_INTERNAL)


if __name__ == "__main__":
    main()
