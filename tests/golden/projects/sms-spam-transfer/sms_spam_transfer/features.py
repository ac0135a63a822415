"""The model's input: the text column as token ids.

The pretrained encoder's own tokenizer (lower-cased WordPiece, from the package that ships the encoder):
nothing is learnt from the data, so the ids are the ones the encoder was trained on. Texts are cut at
`sequence_length` tokens ([CLS] and [SEP] included).
A batch is padded to its longest text with [PAD], token 0. The run writes the tokenizer to
artifacts/tokenizer.json; the service tokenises requests with that file and the `tokenizers`
library, so what it feeds the model is what training fed it (no torch on the serving path).
"""

from __future__ import annotations

from aispec.runtime.text.tokens import PretrainedTokens

FEATURES: list[str] = ["text"]
FEATURE_TYPES: dict[str, str] = {"text": "text"}
TEXT_COLUMN = "text"


def build_preprocessor(pretrained: str, sequence_length: int) -> PretrainedTokens:
    """The tokenizer of the pretrained encoder `pretrained`, cutting texts at `sequence_length` tokens."""
    return PretrainedTokens(column=TEXT_COLUMN, pretrained=pretrained, max_length=sequence_length)
