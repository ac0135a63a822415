"""Loading Lark grammars from package data, with a per-user parser cache.

Building an LALR parser (and Lark's regex-collision analysis) costs ~0.3 s;
``aispec check`` runs in well under that from the second call because the
built parser is cached.  Lark's cache is a pickle, so it lives in a private
per-user directory (never a shared temp dir; the platform's user cache folder,
from platformdirs, so Windows and macOS work too) and its name carries a hash of
the grammar, the options and the Lark version: a changed grammar can never
load a stale parser.
"""

from __future__ import annotations

import hashlib
import os
from importlib import resources
from pathlib import Path
from typing import Any

import lark
import platformdirs


def grammar_text(name: str) -> str:
    return (resources.files("aispec.compiler") / "grammar" / name).read_text(encoding="utf-8")


def cache_dir(kind: str) -> Path | None:
    """A private per-user cache folder, or None when unusable or disabled.

    The platform's user cache (platformdirs): ``$XDG_CACHE_HOME`` or ``~/.cache/aispec/<kind>`` on Linux,
    ``~/Library/Caches/aispec/<kind>`` on macOS, ``%LOCALAPPDATA%\\aispec\\Cache\\<kind>`` on Windows.
    """
    if os.environ.get("AISPEC_NO_CACHE"):
        return None
    path = platformdirs.user_cache_path("aispec", appauthor=False) / kind
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not _owned_by_current_user(path) or not os.access(path, os.W_OK):
            return None  # not ours: never unpickle from a directory someone else controls
    except OSError:
        return None
    return path


def _owned_by_current_user(path: Path) -> bool:
    # Windows has no uids (no os.getuid); there the folder lies in the user's profile, private by its ACL.
    getuid = getattr(os, "getuid", None)
    return getuid is None or path.stat().st_uid == getuid()


def build(name: str, **options: Any) -> lark.Lark:
    """A Lark parser for ``grammar/<name>``; ``options`` as for ``lark.Lark``."""
    text = grammar_text(name)
    folder = cache_dir("lark")
    if folder is None:
        return lark.Lark(text, **options)
    key = hashlib.sha256(repr((text, sorted(options.items()), lark.__version__)).encode()).hexdigest()[:24]
    try:
        return lark.Lark(text, cache=str(folder / f"{name}-{key}.cache"), **options)
    except OSError:
        return lark.Lark(text, **options)
