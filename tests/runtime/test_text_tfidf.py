"""aispec.runtime.text.tfidf: the TF-IDF graph gives scikit-learn's numbers on any text.

Oracles: scikit-learn's own ``transform`` (the graph must reproduce it), Python's ``str.lower`` and
``re`` (what scikit-learn uses), and onnxruntime run on every Unicode code point.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper
from skl2onnx import to_onnx
from skl2onnx.common.data_types import StringTensorType
from sklearn.feature_extraction.text import TfidfVectorizer

from aispec.runtime.datasets import load_bundled
from aispec.runtime.errors import ConfigError
from aispec.runtime.text.tfidf import LOCALE, TextVectorizer, _word_ranges, lower, onnx_tokenexp

OPSET = {"": 17, "ai.onnx.ml": 3}
# texts that trip the plain conversion: accents, Turkish dotted I, Greek final sigma, sharp s, CJK,
# Cyrillic, emoji, ligatures, the Kelvin sign, titlecase digraphs, one-letter words, nothing at all
TRICKY = ["", "!!!", "a b c", "Café crème brûlée café", "İstanbul İSTANBUL ΟΔΟΣ οδός ΟΔΟΣ.", "Straße STRASSE ẞ",
          "日本語のテキスト 東京", "Привет мир ПРИВЕТ", "emoji 😀😀 test", "ﬁnance ﬀ", "Kelvin \u212a \u212aelvin",
          "naïve résumé NAÏVE", "ǅemal ǄEMAL", "ú1 4txt/ú1.20", "٣٤ ١٢٣ digits", "under_score __ _x"]


@pytest.fixture(scope="module")
def sms() -> list[str]:
    return [str(t) for t in load_bundled("sms_spam")["text"]]


def _session(model: Any) -> ort.InferenceSession:
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


def _graph(vectorizer: Any, options: dict[int, Any] | None = None) -> ort.InferenceSession:
    return _session(to_onnx(vectorizer, initial_types=[("text", StringTensorType([None, 1]))], options=options,
                            target_opset=OPSET))


def _onnx(session: ort.InferenceSession, texts: list[str]) -> Any:
    return session.run(None, {"text": np.array(texts, dtype=object).reshape(-1, 1)})[0]


def _row_differences(vectorizer: Any, texts: list[str], session: ort.InferenceSession) -> Any:
    """Each row's largest absolute difference, 400 rows at a time (a dense batch of 4,862 rows by 45,000
    n-grams would take gigabytes)."""
    parts = [np.zeros(0)]
    for start in range(0, len(texts), 400):
        chunk = texts[start:start + 400]
        diff = np.abs(_onnx(session, chunk) - vectorizer.transform(chunk).toarray())
        parts.append(diff.max(axis=1, initial=0.0))
    return np.concatenate(parts)


def _largest_difference(vectorizer: Any, texts: list[str], session: ort.InferenceSession) -> float:
    return float(np.max(_row_differences(vectorizer, texts, session), initial=0.0))


_SLOW = pytest.mark.slow  # tens of thousands of n-grams: a few seconds each
SETTINGS = [
    {}, pytest.param({"ngram_range": (1, 2)}, marks=_SLOW), pytest.param({"ngram_range": (1, 3), "min_df": 2},
                                                                          marks=_SLOW),
    pytest.param({"ngram_range": (2, 2)}, marks=_SLOW), {"sublinear_tf": True}, {"binary": True, "norm": "l1"},
    {"norm": None, "use_idf": False}, {"lowercase": False}, {"max_features": 500, "ngram_range": (1, 2)},
    {"token_pattern": r"(?u)\b\w+\b"}, {"stop_words": "english"},
    pytest.param({"smooth_idf": False, "sublinear_tf": True, "ngram_range": (1, 2), "max_df": 0.5}, marks=_SLOW),
]


def _name(params: dict[str, Any]) -> str:
    return ",".join(f"{k}={v}" for k, v in params.items()) or "default"


@pytest.mark.parametrize("params", SETTINGS, ids=_name)
def test_graph_equals_scikit_learn_on_every_sms_text(sms: list[str], params: dict[str, Any]) -> None:
    """All 4,862 SMS texts (394 of them non-ASCII) and the tricky ones, in one batch and one by one."""
    texts = sms + TRICKY
    vectorizer = TextVectorizer(**params).fit(texts)
    session = _graph(vectorizer)
    assert _largest_difference(vectorizer, texts, session) <= 1e-6
    for text in TRICKY:
        assert _largest_difference(vectorizer, [text], session) <= 1e-6, text


def test_plain_conversion_diverges_where_this_one_does_not(sms: list[str]) -> None:
    """The traps are real: skl2onnx's own conversion of a plain TfidfVectorizer (ASCII tokens) gets real
    SMS texts wrong, and so does its sublinear_tf. If skl2onnx ever fixes both, this says so."""
    plain = TfidfVectorizer().fit(sms)
    session = _graph(plain, {id(plain): {"locale": LOCALE}})
    wrong = [t for t, d in zip(sms, _row_differences(plain, sms, session), strict=True) if d > 1e-4]
    assert len(wrong) >= 3 and all(not t.isascii() for t in wrong)
    sublinear = TfidfVectorizer(sublinear_tf=True).fit(sms)
    session = _graph(sublinear, {id(sublinear): {"locale": LOCALE, "tokenexp": onnx_tokenexp(r"(?u)\b\w\w+\b")}})
    assert _largest_difference(sublinear, sms[:50], session) > 1e-2


# Every character class that matters: ASCII, accented and special-cased letters, combining marks
# (not \w), other scripts' digits and letters, CJK, emoji, punctuation and white space.
_ALPHABET = list("aAbBzZ09_ İıΣσςßẞÉéǅǄ\u0301\u212aΩω日本٣ЖжﬁK😀-.,!?'\t\n")


@settings(derandomize=True, max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet=_ALPHABET, max_size=40), min_size=3, max_size=12),
       st.sampled_from([(1, 1), (1, 2), (2, 3)]), st.booleans())
def test_graph_equals_scikit_learn_on_generated_text(texts: list[str], ngrams: tuple[int, int],
                                                     sublinear: bool) -> None:
    """60 generated corpora (fixed seed) of texts mixing the characters that trip the conversion."""
    vectorizer = TextVectorizer(ngram_range=ngrams, sublinear_tf=sublinear)
    try:
        vectorizer.fit(texts)
    except ValueError:  # "empty vocabulary": nothing to compare
        return
    assert _largest_difference(vectorizer, texts, _graph(vectorizer)) <= 1e-6


def _one_node(op: Any, domain: str) -> ort.InferenceSession:
    graph = helper.make_graph([op], "g", [helper.make_tensor_value_info("x", TensorProto.STRING, [None])],
                              [helper.make_tensor_value_info("y", TensorProto.STRING, None)])
    opsets = [helper.make_opsetid("", 17)] + ([helper.make_opsetid(domain, 1)] if domain else [])
    model = helper.make_model(graph, opset_imports=opsets)
    model.ir_version = 8
    return _session(model)


_CODE_POINTS = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]


def test_lower_is_onnxruntimes_lower_on_every_code_point() -> None:
    normalizer = _one_node(helper.make_node("StringNormalizer", ["x"], ["y"], case_change_action="LOWER",
                                            locale=LOCALE, is_case_sensitive=1), "")
    got = normalizer.run(None, {"x": np.array(_CODE_POINTS, dtype=object)})[0]
    assert [c for c, g in zip(_CODE_POINTS, got, strict=True) if lower(c) != g] == []
    # the two places str.lower differs, and words around them
    words = ["İSTANBUL", "ΟΔΟΣ", "ΟΔΟΣ ΟΔΟΣ", "ΣΟΦΙΑ", "Σ", "aΣ", "ΣΣ"]
    assert normalizer.run(None, {"x": np.array(words, dtype=object)})[0].tolist() == [lower(w) for w in words]
    assert lower("İSTANBUL ΟΔΟΣ") != "İSTANBUL ΟΔΟΣ".lower()


def test_token_pattern_is_pythons_word_class_on_every_code_point() -> None:
    word = re.compile(r"\w")
    expected = [c for c in _CODE_POINTS if word.match(c)]
    assert sum(b - a + 1 for a, b in _word_ranges()) == len(expected)
    tokenizer = _one_node(helper.make_node("Tokenizer", ["x"], ["y"], domain="com.microsoft", mark=0, mincharnum=1,
                                           pad_value="#", tokenexp=onnx_tokenexp(r"(?u)\b\w\w+\b")), "com.microsoft")
    doubled = np.array([c * 2 for c in _CODE_POINTS], dtype=object)
    got = tokenizer.run(None, {"x": doubled})[0]
    assert [c for c, row in zip(_CODE_POINTS, got, strict=True) if row[0] == c * 2] == expected
    # RE2's own Unicode classes follow another Unicode version: why the ranges are written out
    approximate = _one_node(helper.make_node("Tokenizer", ["x"], ["y"], domain="com.microsoft", mark=0, mincharnum=1,
                                             pad_value="#", tokenexp=r"[\p{L}\p{N}_]{2,}"), "com.microsoft")
    rows = approximate.run(None, {"x": doubled})[0]
    assert sum(row[0] == c * 2 for c, row in zip(_CODE_POINTS, rows, strict=True)) != len(expected)


@pytest.mark.parametrize(("params", "named"), [
    ({"analyzer": "char_wb"}, "analyzer='char_wb'"),
    ({"analyzer": "char"}, "analyzer='char'"),
    ({"strip_accents": "unicode"}, "strip_accents='unicode'"),
    ({"token_pattern": r"\S+"}, "token_pattern="),
    ({"tokenizer": str.split, "token_pattern": None}, "custom preprocessor or tokenizer"),
    ({"stop_words": "english", "ngram_range": (1, 2)}, "stop_words with n-grams"),
])
def test_settings_no_graph_reproduces_are_refused_before_fitting(params: dict[str, Any], named: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(named)):
        TextVectorizer(**params).fit(["some text here", "more text"])


def test_empty_and_long_texts() -> None:
    vectorizer = TextVectorizer().fit(["free prize now", "call me later", "see you at the game"])
    session = _graph(vectorizer)
    long_text = "free prize " * 20_000 + "call"
    for batch in ([""], ["", "!!", "x"], [long_text], [long_text, ""]):
        assert _largest_difference(vectorizer, batch, session) <= 1e-6
    assert not _onnx(session, [""]).any()  # no words: a row of zeros, as scikit-learn
