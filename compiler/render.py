"""Rendering: a Plan → a RenderedTree of file texts (and one binary file, the aispec wheel).

Pure and deterministic; no I/O but template reads and the read of the installed aispec's files that
the wheel is packed from.
"""

from __future__ import annotations

from functools import cache
from pathlib import PurePosixPath

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from .grammars import cache_dir
from .plan import Plan
from .wheel import aispec_wheel

# Text (str) is generated code: merged with the user's edits on a rebuild. Bytes are binary files
# (the aispec wheel): never merged, only written or replaced whole.
RenderedTree = dict[PurePosixPath, str | bytes]

# Where `aispec build` puts the aispec wheel the project installs (requirements.txt: --find-links).
WHEELHOUSE = PurePosixPath("wheelhouse")


@cache
def environment() -> jinja2.Environment:
    """The one Jinja environment: sandboxed, strict about undefined names, autoescape for HTML only."""
    folder = cache_dir("jinja")
    env = SandboxedEnvironment(
        loader=jinja2.PackageLoader("aispec.templates", "."),
        # compiled templates are cached per user (keyed by template source checksum), like __pycache__
        bytecode_cache=jinja2.FileSystemBytecodeCache(str(folder)) if folder is not None else None,
        undefined=jinja2.StrictUndefined,
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env


def template_for(env: jinja2.Environment, name: str, overlay: str) -> jinja2.Template:
    """The back end's overlay of ``name`` when it has one, else the shared template (dbt's
    ``<adapter>__macro`` else ``default__macro``): ``project/package/model.py.j2`` is looked up first as
    ``backends/<overlay>/package/model.py.j2``. Templates shared by every back end stay in ``project/``."""
    shared = name.removeprefix("project/")
    return env.select_template([f"backends/{overlay}/{shared}", name]) if shared != name else env.get_template(name)


def render(plan: Plan) -> RenderedTree:
    env = environment()
    tree: RenderedTree = {}
    overlay = str(plan.context.get("overlay", ""))
    for template_name, path in plan.files:
        text = template_for(env, template_name, overlay).render(**plan.context)
        tree[path] = text
    tree[PurePosixPath(plan.spec_file)] = plan.spec_text
    wheel_name, wheel = aispec_wheel()
    tree[WHEELHOUSE / wheel_name] = wheel
    return dict(sorted(tree.items(), key=lambda item: str(item[0])))
