"""Token ids for a model whose ONNX graph reads them (a transformer, a pretrained encoder), made from
the request's text with the ``tokenizers`` library: no torch and no transformers on the serving path.

The training run writes the tokenizer it used (``tokenizer.json``, truncation and padding included)
beside ``model.onnx`` and describes it in ``serving.json`` as ``model.tokenizer``::

    {"file": "tokenizer.json", "column": "text", "max_length": 256,
     "ids": "input_ids", "mask": "attention_mask"}

``column`` is the request field (the text column) whose ONNX input the graph does not have: its texts
become the ``ids`` and ``mask`` inputs (int64, ``[rows, tokens]``, padded to the longest row of the
call). A text longer than ``max_length`` tokens is cut there, as training cut it.

A model without ``model.tokenizer`` takes its text columns as strings (the TF-IDF graph tokenises
inside itself); nothing here is used then.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from typing_extensions import TypedDict  # pydantic validates typing_extensions' TypedDicts only, on 3.11

__all__ = ["TEXT_MAX_CHARS", "TokenizerContract", "TokenizerFeeds", "check_tokenizer_contract"]

# The longest text a request field takes (a longer one is a 422 naming the field): far beyond any
# message or review, and a bound on the work one row can cause (deployment.api.max_body bounds the
# whole request). A TF-IDF model reads all of it; a model reading token ids its first max_length tokens.
TEXT_MAX_CHARS = 100_000


class TokenizerContract(TypedDict):
    file: str  # relative to the artifacts directory
    column: str  # the text column (request field) tokenised
    max_length: int  # tokens; longer texts are cut, as in training
    ids: str  # ONNX input of the token ids
    mask: str  # ONNX input of the attention mask


def check_tokenizer_contract(value: Any, where: str = "model.tokenizer") -> list[str]:
    """Problems with a ``model.tokenizer`` entry of serving.json, each naming its path."""
    if not isinstance(value, Mapping):
        return [f"{where}: not an object"]
    problems = [f"{where}.{key}: missing or not a non-empty string" for key in ("file", "column", "ids", "mask")
                if not isinstance(value.get(key), str) or not value.get(key)]
    length = value.get("max_length")
    if not isinstance(length, int) or isinstance(length, bool) or length < 2:
        problems.append(f"{where}.max_length: not a whole number of tokens >= 2")
    file = value.get("file")
    if isinstance(file, str) and (Path(file).is_absolute() or ".." in Path(file).parts):
        problems.append(f"{where}.file: must be a file name inside the artifacts directory")
    return problems


class TokenizerFeeds:
    """The tokenizer of a model, turning the text column's feed into token ids and a mask."""

    def __init__(self, contract: Mapping[str, Any], directory: Path) -> None:
        from tokenizers import Tokenizer  # type: ignore[import-not-found, unused-ignore]

        path = Path(directory) / str(contract["file"])
        if not path.is_file():
            raise ValueError(f"serving.json: model.tokenizer.file: {path} does not exist (the training run writes "
                             "it beside model.onnx)")
        self.tokenizer = Tokenizer.from_file(str(path))
        self.column = str(contract["column"])
        self.ids = str(contract["ids"])
        self.mask = str(contract["mask"])
        self.max_length = int(contract["max_length"])
        truncation = self.tokenizer.truncation or {}
        if truncation.get("max_length") != self.max_length:
            raise ValueError(f"serving.json: model.tokenizer.max_length is {self.max_length}, but {path.name} cuts "
                             f"texts at {truncation.get('max_length')} tokens")
        if self.tokenizer.padding is None:
            raise ValueError(f"{path.name} has no padding: rows of one call could not share a tensor")

    def encode(self, texts: Sequence[str]) -> dict[str, NDArray[np.int64]]:
        """``ids`` and ``mask`` for ``texts`` (padded to the longest, cut at ``max_length`` tokens)."""
        encodings = self.tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in encodings], dtype=np.int64).reshape(len(encodings), -1)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64).reshape(len(encodings), -1)
        return {self.ids: ids, self.mask: mask}

    def feeds(self, feeds: Mapping[str, NDArray[Any]], text_input: str) -> dict[str, NDArray[Any]]:
        """``feeds`` with the text input (``[rows, 1]`` strings) replaced by token ids and mask."""
        out = {name: value for name, value in feeds.items() if name != text_input}
        texts = ["" if t is None else str(t) for t in np.asarray(feeds[text_input], dtype=object).ravel().tolist()]
        out.update(self.encode(texts))
        return out

    def graph_inputs(self, graph_inputs: Mapping[str, str], text_input: str) -> dict[str, str]:
        """The graph's inputs as the request's columns see them: ``ids`` and ``mask`` (which must be int64
        tensors) stand for the text column's string input. ValueError when the graph lacks one."""
        out = dict(graph_inputs)
        for name in (self.ids, self.mask):
            kind = out.pop(name, None)
            if kind != "tensor(int64)":
                raise ValueError(f"serving.json: model.tokenizer: the ONNX graph's input '{name}' is "
                                 f"{kind or 'missing'}, not tensor(int64)")
        out[text_input] = "tensor(string)"
        return out
