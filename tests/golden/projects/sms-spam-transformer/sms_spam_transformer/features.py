"""The model's input: the text column as token ids.

A byte-pair-encoding (BPE) vocabulary of at most `vocab_size` tokens, learnt from the training split
only (augmented copies included), after BERT's normalisation (lower case, accents stripped) and its
split at white space and punctuation. Every text starts with [CLS]; texts are cut at
`sequence_length` tokens.
A batch is padded to its longest text with [PAD], token 0. The run writes the tokenizer to
artifacts/tokenizer.json; the service tokenises requests with that file and the `tokenizers`
library, so what it feeds the model is what training fed it (no torch on the serving path).
"""

from __future__ import annotations

from aispec.runtime.text.tokens import BPETokens

FEATURES: list[str] = ["text"]
FEATURE_TYPES: dict[str, str] = {"text": "text"}
TEXT_COLUMN = "text"


def build_preprocessor(vocab_size: int, sequence_length: int) -> BPETokens:
    """A BPE tokenizer of at most `vocab_size` tokens (pieces seen at least twice in the
    training texts), cutting texts at `sequence_length` tokens."""
    return BPETokens(
        column=TEXT_COLUMN,
        vocab_size=vocab_size,
        max_length=sequence_length,
        min_frequency=2,
    )
