r"""TF-IDF features of a text column whose ONNX graph gives scikit-learn's numbers on any text.

scikit-learn's ``TfidfVectorizer`` and the graph skl2onnx 1.20 writes for it disagree in these places
(measured with onnxruntime 1.32; docs/text.md has the figures):

1. Tokens. scikit-learn's default pattern ``(?u)\b\w\w+\b`` is Unicode-aware; skl2onnx swaps it for the
   ASCII ``[a-zA-Z0-9_]+``, so ``"ú1"`` or ``"café"`` tokenise differently (6 of the 4,862 SMS texts).
   RE2's ``[\p{L}\p{N}_]`` is close but follows a newer Unicode than the Python that fitted the model
   (5,010 code points apart on Python 3.11). The graph here gets the exact code points Python's ``\w``
   matches, as RE2 ranges computed at export, so it tokenises as the fit did.
2. Lower-casing. onnxruntime's StringNormalizer maps each code point on its own; it agrees with
   ``str.lower`` on every code point but ``İ`` (U+0130; Python gives two code points, ``i̇``) and a
   word-final capital sigma (Python: ``ς``; the graph: ``σ``). :class:`TextVectorizer` lower-cases
   like the graph (:func:`lower`), so both see the same words.
3. ``sublinear_tf`` (skl2onnx computes log(1 + tf), scikit-learn 1 + log(tf)) and n-grams whose words
   are not all in the vocabulary (skl2onnx cannot split them and silently counts nothing): the
   converter here writes the graph itself — StringNormalizer, Tokenizer, TfIdfVectorizer, then the
   sublinear, idf and norm steps in plain operators.

What no graph can reproduce is refused before any fitting (:func:`check_vectorizer`): character
analyzers (scikit-learn first collapses white space), ``strip_accents`` (no ONNX operator removes
accents), a custom preprocessor or tokenizer (Python code), a token pattern other than the two
translated ones, and stop words with n-grams longer than one word (scikit-learn removes them before
forming n-grams; ONNX's StringNormalizer cannot do that per row of a batch).
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from sklearn.feature_extraction.text import TfidfVectorizer  # type: ignore[import-untyped, unused-ignore]

from ..errors import ConfigError

__all__ = ["LOCALE", "TOKEN_PATTERNS", "TextVectorizer", "check_vectorizer", "lower", "onnx_tokenexp"]

# The only UTF-8 locale slim images (and this machine) have; onnxruntime's default en_US.UTF-8 is missing.
LOCALE = "C.UTF-8"
# token_pattern -> how many word characters a token needs at least (the RE2 pattern repeats Python's \w)
TOKEN_PATTERNS: dict[str, int] = {r"(?u)\b\w\w+\b": 2, r"(?u)\b\w+\b": 1}


def lower(text: str) -> str:
    """``text`` lower-cased as onnxruntime's StringNormalizer does it: code point by code point.

    ``str.lower`` agrees on every code point except ``İ`` (onnxruntime: ``i``) and a capital sigma
    at the end of a word (onnxruntime: ``σ``, never the final form ``ς``); both are mapped first.
    """
    return text.replace("\u0130", "i").replace("\u03a3", "\u03c3").lower()


@cache
def _word_ranges() -> tuple[tuple[int, int], ...]:
    """The code points Python's ``re`` matches with ``\\w`` (on str patterns), as inclusive ranges: the
    runs of ``\\w+`` over every code point in order (surrogates, never valid UTF-8, left out)."""
    ranges: list[tuple[int, int]] = []
    for start, stop in ((0, 0xD800), (0xE000, 0x110000)):
        text = "".join(map(chr, range(start, stop)))
        ranges.extend((start + m.start(), start + m.end() - 1) for m in re.finditer(r"\w+", text))
    return tuple(ranges)


def onnx_tokenexp(token_pattern: str) -> str:
    """The RE2 pattern (onnxruntime's Tokenizer) that finds the tokens ``token_pattern`` finds in Python.

    ``\\b\\w\\w+\\b`` finds the maximal runs of at least two word characters, exactly what a greedy
    ``[\\w]{2,}`` finds; ``[\\w]`` is written out as the code point ranges of the running Python.
    """
    if token_pattern not in TOKEN_PATTERNS:
        raise ConfigError(f"token_pattern {token_pattern!r} has no ONNX equivalent",
                          hint=f"use one of {', '.join(map(repr, TOKEN_PATTERNS))}")
    parts = (f"\\x{{{a:x}}}" if a == b else f"\\x{{{a:x}}}-\\x{{{b:x}}}" for a, b in _word_ranges())
    least = TOKEN_PATTERNS[token_pattern]
    return "[" + "".join(parts) + "]" + ("{2,}" if least == 2 else "+")


def check_vectorizer(vectorizer: Any) -> None:
    """ConfigError naming the setting when ``vectorizer``'s ONNX graph could not give its numbers."""
    problems: list[str] = []
    if vectorizer.input != "content":
        problems.append(f"input={vectorizer.input!r} (the graph reads the text itself)")
    if vectorizer.analyzer != "word":
        what = vectorizer.analyzer if isinstance(vectorizer.analyzer, str) else "a callable"
        problems.append(f"analyzer={what!r} (character n-grams collapse white space first, which no ONNX "
                        "operator does)")
    if vectorizer.strip_accents is not None:
        problems.append(f"strip_accents={vectorizer.strip_accents!r} (no ONNX operator removes accents)")
    if vectorizer.preprocessor is not None or vectorizer.tokenizer is not None:
        problems.append("a custom preprocessor or tokenizer (Python code cannot be exported)")
    if vectorizer.analyzer == "word" and vectorizer.tokenizer is None \
            and vectorizer.token_pattern not in TOKEN_PATTERNS:
        problems.append(f"token_pattern={vectorizer.token_pattern!r} (translated to ONNX: "
                        f"{', '.join(map(repr, TOKEN_PATTERNS))})")
    if vectorizer.stop_words is not None and vectorizer.ngram_range[1] > 1:
        problems.append("stop_words with n-grams of more than one word (scikit-learn removes stop words "
                        "before forming n-grams; the ONNX graph cannot)")
    if problems:
        raise ConfigError(f"the text features cannot be exported to ONNX with the same numbers: "
                          f"{'; '.join(problems)}",
                          hint="change these settings of the TF-IDF step in features.py (docs/text.md lists "
                               "what the graph reproduces)")


class TextVectorizer(TfidfVectorizer):  # type: ignore[misc]
    """scikit-learn's ``TfidfVectorizer`` with lower-casing as the ONNX graph does it (:func:`lower`),
    refusing at fit the settings the graph cannot reproduce (:func:`check_vectorizer`). Every parameter
    is ``TfidfVectorizer``'s; its converter (registered below) writes the whole graph."""

    def build_preprocessor(self) -> Any:
        if self.preprocessor is None and self.strip_accents is None and self.lowercase:
            return lower
        return super().build_preprocessor()

    def fit(self, raw_documents: Any, y: Any = None) -> TextVectorizer:
        check_vectorizer(self)
        super().fit(raw_documents, y)
        return self

    def fit_transform(self, raw_documents: Any, y: Any = None) -> Any:
        check_vectorizer(self)
        return super().fit_transform(raw_documents, y)


# ------------------------------------------------------------------------------------ the converter


def _shape(operator: Any) -> None:
    from skl2onnx.common.data_types import FloatTensorType  # type: ignore[import-untyped, unused-ignore]

    input_type = operator.inputs[0].type
    n = input_type.shape[0] if input_type.shape else None
    operator.outputs[0].type = FloatTensorType([n, len(operator.raw_operator.vocabulary_)])


def _pool(vocabulary: dict[str, int], longest: int) -> tuple[list[str], list[int], list[int]]:
    """TfIdfVectorizer's pool: the words of every n-gram, 1-grams first (``ngram_counts`` says where each
    length starts), and each n-gram's output column (``ngram_indexes``). Tokens never hold a space, so
    an n-gram's words are its text split at spaces (scikit-learn joins them with one)."""
    by_length: dict[int, list[tuple[int, list[str]]]] = {}
    for term, column in vocabulary.items():
        words = term.split(" ")
        by_length.setdefault(len(words), []).append((int(column), words))
    pool: list[str] = []
    counts: list[int] = []
    indexes: list[int] = []
    for n in range(1, longest + 1):
        counts.append(len(pool))
        for column, words in sorted(by_length.get(n, [])):
            pool.extend(words)
            indexes.append(column)
    return pool, counts, indexes


def _convert(scope: Any, operator: Any, container: Any) -> None:
    import numpy as np
    from onnx import TensorProto

    op = operator.raw_operator
    check_vectorizer(op)

    def var(name: str) -> str:
        return str(scope.get_unique_variable_name(name))

    def node(op_type: str, inputs: list[str], output: str, **attrs: Any) -> str:
        container.add_node(op_type, inputs, output, name=scope.get_unique_operator_name(op_type), **attrs)
        return output

    def const(name: str, proto: int, values: Any) -> str:
        values = np.asarray(values)
        tensor = var(name)
        container.add_initializer(tensor, proto, list(values.shape), values.ravel().tolist())
        return tensor

    flat = node("Reshape", [operator.inputs[0].full_name, const("text_shape", TensorProto.INT64, [-1])],
                var("text"))
    current = flat
    if op.lowercase:
        current = node("StringNormalizer", [current], var("text_lower"), op_version=10,
                       case_change_action="LOWER", is_case_sensitive=1, locale=LOCALE)
    pad = "#"
    while pad in op.vocabulary_:
        pad += "#"
    tokens = node("Tokenizer", [current], var("tokens"), op_domain="com.microsoft", op_version=1,
                  mark=0, mincharnum=1, pad_value=pad, tokenexp=onnx_tokenexp(op.token_pattern))
    low, high = op.ngram_range
    pool, counts, indexes = _pool(op.vocabulary_, high)
    x = node("TfIdfVectorizer", [tokens], var("tf"), op_version=9, mode="TF", min_gram_length=low,
             max_gram_length=high, max_skip_count=0, pool_strings=pool, ngram_counts=counts,
             ngram_indexes=indexes)
    if op.binary:
        x = node("Min", [x, const("one", TensorProto.FLOAT, np.ones(1, np.float32))], var("tf_binary"))
    if op.sublinear_tf:  # 1 + log(tf) where tf > 0, else 0 (log(0) = -inf is never selected)
        zero = const("zero", TensorProto.FLOAT, np.zeros(1, np.float32))
        present = node("Greater", [x, zero], var("tf_present"))
        logged = node("Add", [node("Log", [x], var("tf_log")), const("one", TensorProto.FLOAT, np.ones(1, np.float32))],
                      var("tf_sublinear"))
        x = node("Where", [present, logged, x], var("tf_scaled"))
    if op.use_idf:
        x = node("Mul", [x, const("idf", TensorProto.FLOAT, op.idf_.astype(np.float32))], var("tfidf"))
    if op.norm is not None:  # as sklearn.preprocessing.normalize: a row of zeros stays zeros
        reduce = {"l2": "ReduceL2", "l1": "ReduceL1"}[op.norm]
        if container.target_opset >= 18:  # axes became an input in opset 18
            size = node(reduce, [x, const("axes", TensorProto.INT64, [1])], var("row_norm"), keepdims=1)
        else:
            size = node(reduce, [x], var("row_norm"), axes=[1], keepdims=1)
        zero = const("zero", TensorProto.FLOAT, np.zeros(1, np.float32))
        safe = node("Where", [node("Equal", [size, zero], var("row_empty")),
                              const("one", TensorProto.FLOAT, np.ones(1, np.float32)), size], var("row_divisor"))
        x = node("Div", [x, safe], var("tfidf_normed"))
    node("Identity", [x], operator.outputs[0].full_name)


def _register() -> None:
    try:
        from skl2onnx import update_registered_converter  # type: ignore[import-untyped, unused-ignore]
    except ImportError:  # pragma: no cover - skl2onnx comes with the scikit-learn extra
        return
    update_registered_converter(TextVectorizer, "AispecTextVectorizer", _shape, _convert)


_register()
