"""A text column as token ids, for the networks that read them (the ``transformer`` and ``transfer`` families on
the PyTorch back end): the tokenizer is a ``tokenizers.Tokenizer``, saved as ``tokenizer.json`` beside
``model.onnx``, and the service tokenises with the same file (:mod:`aispec.runtime.serving.text`), so a
request's text becomes the ids training saw without torch or transformers.

- :class:`BPETokens` learns a byte-pair-encoding vocabulary (at most ``vocab_size`` tokens, pieces seen at
  least ``min_frequency`` times) from the rows it is fitted on — the training split only, augmented copies
  included — after BERT's normalisation (lower-casing, accents stripped, control characters dropped) and
  BERT's split at white space and punctuation. Every text starts with ``[CLS]``: no text is ever empty (a
  row of padding alone would give the attention a softmax over nothing). Why BPE and not WordPiece:
  ``tokenizers``' WordPiece trainer is not deterministic (three runs on the same 4,000 SMS texts gave three
  vocabularies of 6,540 to 6,547 tokens); its BPE trainer gave the same file every time.
- :class:`PretrainedTokens`: a pretrained encoder's own tokenizer (:mod:`.pretrained`), nothing learnt.

Both cut a text at ``max_length`` tokens (``[CLS]`` included) and pad a batch to its longest text with the
id of ``[PAD]`` (0 in both vocabularies); the ids of one text are the same alone or in any batch.
``transform`` gives :class:`TokenRows` (each text's ids, unpadded); :func:`pad` makes a batch of them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.base import BaseEstimator  # type: ignore[import-untyped, unused-ignore]

from ..errors import ConfigError

__all__ = ["IDS", "MASK", "BPETokens", "PretrainedTokens", "TokenRows", "column_texts", "pad"]

# ONNX inputs of a graph that reads token ids (the service's serving.json model.tokenizer names them)
IDS, MASK = "input_ids", "attention_mask"
SPECIALS = ("[PAD]", "[UNK]", "[CLS]")  # ids 0, 1, 2 of a learnt vocabulary
TOKENIZER_FILE = "tokenizer.json"

# the Rust thread pool is of no use for SMS-sized texts on a few cores, and a process forked after it started
# (a server, a subprocess) would otherwise warn or wait on it
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


class TokenRows(Sequence[NDArray[np.int64]]):
    """The token ids of each text (int64 arrays of their own lengths); a slice is TokenRows again, and
    ``tobytes`` fingerprints them (lengths and ids), as checkpoints and ``--resume`` need."""

    def __init__(self, rows: Sequence[NDArray[np.int64]]) -> None:
        self.rows = list(rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return TokenRows(self.rows[index])
        if isinstance(index, (list, np.ndarray)):
            return TokenRows([self.rows[int(i)] for i in index])
        return self.rows[index]

    def __iter__(self) -> Iterator[NDArray[np.int64]]:
        return iter(self.rows)

    @property
    def lengths(self) -> NDArray[np.int64]:
        return np.array([len(r) for r in self.rows], dtype=np.int64)

    def tobytes(self) -> bytes:
        flat = np.concatenate(self.rows) if self.rows else np.zeros(0, np.int64)
        return self.lengths.tobytes() + flat.astype(np.int64).tobytes()


def pad(rows: Sequence[NDArray[np.int64]], pad_id: int = 0) -> NDArray[np.int64]:
    """``rows`` as one ``[n, longest]`` int64 matrix, padded on the right with ``pad_id``."""
    longest = max((len(r) for r in rows), default=0)
    out = np.full((len(rows), max(longest, 1)), pad_id, dtype=np.int64)
    for i, row in enumerate(rows):
        out[i, :len(row)] = row
    return out


def column_texts(X: Any, column: str) -> list[str]:
    """The texts of ``column`` of ``X`` (a DataFrame with that one feature column); a missing text is ""."""
    columns = [str(c) for c in getattr(X, "columns", [])]
    if columns != [column]:
        raise ConfigError(f"a network reading token ids takes one text column ('{column}'), not {columns}",
                          hint="set data.features to the text column alone")
    return ["" if v is None or (isinstance(v, float) and v != v) else str(v) for v in X[column].tolist()]


class _TokenStep(BaseEstimator):  # type: ignore[misc]
    """What both tokenizers share: ``tokenizer_`` (fitted), ``transform``, ``save`` and the serving contract."""

    column: str
    max_length: int

    def _fit(self, texts: list[str]) -> Any:
        raise NotImplementedError

    def fit(self, X: Any, y: Any = None) -> _TokenStep:
        if int(self.max_length) < 2:
            raise ConfigError(f"sequence_length {self.max_length} leaves no room for a token after [CLS]")
        tokenizer = self._fit(column_texts(X, self.column))
        tokenizer.enable_truncation(max_length=int(self.max_length))
        tokenizer.enable_padding(pad_id=tokenizer.token_to_id("[PAD]"), pad_token="[PAD]", direction="right")
        self.tokenizer_ = tokenizer
        return self

    @property
    def pad_id(self) -> int:
        return int(self.tokenizer_.token_to_id("[PAD]"))

    @property
    def n_tokens(self) -> int:
        """The vocabulary's size (the network's embedding table has a row per token)."""
        return int(self.tokenizer_.get_vocab_size())

    def encode(self, texts: Sequence[str]) -> TokenRows:
        """Each text's ids, unpadded (the padded batch cut at each text's own mask)."""
        encodings = self.tokenizer_.encode_batch(list(texts))
        return TokenRows([np.asarray(e.ids[:sum(e.attention_mask)], dtype=np.int64) for e in encodings])

    def transform(self, X: Any) -> TokenRows:
        return self.encode(column_texts(X, self.column))

    def save(self, path: Path) -> None:
        self.tokenizer_.save(str(path))

    def contract(self, file: str = TOKENIZER_FILE) -> dict[str, Any]:
        """serving.json's ``model.tokenizer`` (``serving.text.TokenizerContract``) for this tokenizer."""
        return {"file": file, "column": self.column, "max_length": int(self.max_length), "ids": IDS, "mask": MASK}

    def __getstate__(self) -> dict[str, Any]:  # tokenizers.Tokenizer pickles as its JSON text
        state = dict(self.__dict__)
        if "tokenizer_" in state:
            state["tokenizer_"] = state["tokenizer_"].to_str()
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        if isinstance(state.get("tokenizer_"), str):
            from tokenizers import Tokenizer  # type: ignore[import-not-found, unused-ignore]

            state = {**state, "tokenizer_": Tokenizer.from_str(state["tokenizer_"])}
        self.__dict__.update(state)


class BPETokens(_TokenStep):
    """A BPE vocabulary learnt from the texts it is fitted on (see the module docstring)."""

    def __init__(self, column: str = "text", vocab_size: int = 8000, max_length: int = 128,
                 min_frequency: int = 2) -> None:
        self.column = column
        self.vocab_size = vocab_size
        self.max_length = max_length
        self.min_frequency = min_frequency

    def _fit(self, texts: list[str]) -> Any:
        from tokenizers import (  # type: ignore[import-not-found, unused-ignore]
            Tokenizer,
            models,
            normalizers,
            pre_tokenizers,
            processors,
            trainers,
        )

        if int(self.vocab_size) <= len(SPECIALS):
            raise ConfigError(f"vocab_size {self.vocab_size} leaves no room for a token beside {', '.join(SPECIALS)}")
        tokenizer = Tokenizer(models.BPE(unk_token="[UNK]"))
        tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
        tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        trainer = trainers.BpeTrainer(vocab_size=int(self.vocab_size), min_frequency=int(self.min_frequency),
                                      special_tokens=list(SPECIALS), show_progress=False)
        tokenizer.train_from_iterator(texts, trainer=trainer, length=len(texts))
        tokenizer.post_processor = processors.TemplateProcessing(single="[CLS] $A",
                                                                 special_tokens=[("[CLS]", SPECIALS.index("[CLS]"))])
        return tokenizer


class PretrainedTokens(_TokenStep):
    """A pretrained encoder's own tokenizer (:func:`.pretrained.load_tokenizer`); fitting learns nothing."""

    def __init__(self, column: str = "text", pretrained: str = "all-minilm-l6-v2", max_length: int = 256) -> None:
        self.column = column
        self.pretrained = pretrained
        self.max_length = max_length

    def _fit(self, texts: list[str]) -> Any:
        from .pretrained import load_tokenizer

        return load_tokenizer(self.pretrained, int(self.max_length))
