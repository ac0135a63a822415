"""Network forecasters (``lstm``, ``gru``): a back end's recurrent network on the lag windows of
:mod:`.windows`, with everything around the network shared by the network back ends (torch, keras).

- **Windows.** The network reads the values at the spec's lags as a sequence, oldest first (``lags`` sorted
  ``[L, ..., 1]``: with the default lags ``1..L`` that is the last ``L`` observations); recursive (one
  output, fed back by :func:`.kernels.recursive`) or direct (``horizon`` outputs, :func:`.kernels.direct`)
  as ``problem.multi_step`` says. The forecasting loop, the rolling-origin evaluation, the baselines and
  the service are the lag regressors' (:class:`.forecasters.LagRegression`).
- **Scaling** (:class:`WindowScale`): every window is read relative to its own last value and divided by one
  scale learned on the training part only (``data.cleaning.scaling``: ``standard`` its standard deviation,
  ``minmax`` its range, ``robust`` its interquartile range, ``none`` 1); the network predicts the future
  values the same way, ``(y - last) / scale``. Centring on the window's last value, not on the training
  mean, keeps a trending series (co2) inside the range the network was trained on.
- **Training** (:meth:`NetworkForecaster.fit_with`): the back end's own fit (torch's loop, Keras's
  ``model.fit``) with every ``training`` field; early stopping on the windows whose targets lie in the
  validation part of the time-ordered split; checkpoints and ``--resume``.
- **Search** (:func:`search`): Optuna over ``model.search.space``; each trial trains on the part before the
  validation steps, reports its validation loss after every epoch (``MedianPruner`` stops a trial below the
  median of earlier ones), and is scored by rolling-origin forecasts over the validation steps
  (:mod:`.backtest`'s origins, histories and scoring, the test split's protocol).
- **Export** (:meth:`NetworkForecaster.export`): the back end's network graph (window ``(batch, time, 1)``
  in scaled units) wrapped by :func:`wrap_graph` into ``model.onnx`` with one input ``lags`` (raw values,
  ``(batch, time)``) and one output ``forecast`` in the series' unit: the scaling is applied in the graph,
  so the service (onnxruntime + numpy) needs nothing else. Parity with the framework at two batch sizes
  and two sequence lengths.

The back end provides ``window_network(family, params=, seed=, outputs=, **builders)`` (an object with
``fit(X, T, validation=, settings=, metrics=, on_epoch=, progress=)`` and ``predict(X)`` on scaled
windows ``(rows, time)``) and ``export_network(model, path, length=)`` (the network as ONNX; ``length``
None when the graph keeps the sequence axis dynamic).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..errors import ConfigError
from . import backtest
from .forecasters import MODEL_FILE, LagRegression, SeriesExport, SeriesSettings, _diffs, _histories, _session
from .windows import lag_windows

__all__ = ["NetworkForecaster", "WindowScale", "search", "sequence_lags", "wrap_graph"]

INPUT = "lags"  # the served graph's input (as the lag regressors'): raw values, (batch, time), oldest first
OUTPUT = "forecast"
SCALINGS = ("standard", "minmax", "robust", "none")


def sequence_lags(lags: tuple[int, ...] | list[int]) -> tuple[int, ...]:
    """The lags as a sequence, oldest first: ``(1, 2, 52)`` → ``(52, 2, 1)``."""
    return tuple(sorted({int(k) for k in lags}, reverse=True))


class WindowScale:
    """Windows relative to their last value, in units of a scale learned on the training part (see the
    module docstring). ``scale`` is a plain float: the exported graph holds the same number."""

    def __init__(self, scaling: str = "standard") -> None:
        if scaling not in SCALINGS:
            raise ConfigError(f"data.cleaning.scaling '{scaling}' is not one of {', '.join(SCALINGS)}")
        self.scaling = scaling
        self.scale = 1.0

    def fit(self, values: Any) -> WindowScale:
        y = np.asarray(values, dtype=np.float64).ravel()
        spread = {"standard": lambda: float(np.std(y)), "minmax": lambda: float(np.max(y) - np.min(y)),
                  "robust": lambda: float(np.subtract(*np.percentile(y, [75, 25]))),
                  "none": lambda: 1.0}[self.scaling]() if len(y) else 1.0
        self.scale = spread if spread > 0 and math.isfinite(spread) else 1.0  # a constant series: unscaled
        return self

    def inputs(self, X: Any) -> NDArray[np.float32]:
        X = np.asarray(X, dtype=np.float64)
        scaled: NDArray[np.float32] = ((X - X[:, -1:]) / self.scale).astype(np.float32)
        return scaled

    def targets(self, X: Any, Y: Any) -> NDArray[np.float32]:
        X = np.asarray(X, dtype=np.float64)
        scaled: NDArray[np.float32] = ((np.asarray(Y, dtype=np.float64) - X[:, -1:]) / self.scale).astype(np.float32)
        return scaled

    def restore(self, X: Any, outputs: Any) -> NDArray[np.float64]:
        X = np.asarray(X, dtype=np.float64)
        values: NDArray[np.float64] = np.asarray(outputs, dtype=np.float64) * self.scale + X[:, -1:]
        return values


class NetworkForecaster(LagRegression):
    """A back end's network on sequence windows (see the module docstring). ``model`` comes from the back end's
    ``window_network``; the rolling forecast, the windows parity compares and the evaluation are
    :class:`LagRegression`'s."""

    trains_by_epochs = True

    def __init__(self, family: str, settings: SeriesSettings, params: Mapping[str, Any] | None, *, model: Any,
                 backend: Any, scaling: str = "standard") -> None:
        super().__init__(family, settings.with_lags(sequence_lags(settings.lags)), params, model=model,
                         backend=backend)
        self.scaler = WindowScale(scaling)

    # -------------------------------------------------------------------------------------- fitting

    def fit(self, values: Any) -> NetworkForecaster:
        return self.fit_with(values)

    def fit_with(self, values: Any, *, validation: Any = None, settings: Any = None,
                 on_epoch: Callable[[int, Mapping[str, float]], None] | None = None,
                 progress: bool = True) -> NetworkForecaster:
        """Train on the windows of ``values`` (the training part), stopping early on the windows whose targets
        lie in ``validation`` (the steps that follow it); ``settings``: the run's ``api.FitSettings``
        (training section, device, checkpoints, --resume); ``on_epoch``: a search's hook."""
        y = np.asarray(values, dtype=np.float64).ravel()
        multi = self.settings.multi_step
        windows = lag_windows(y, self.settings.lags, self.horizon, multi)
        if len(windows) < 3:
            raise ConfigError(f"{len(windows)} windows from {len(y)} training observations: too few to train a "
                              f"network (window {self.context}, horizon {self.horizon})",
                              hint="use shorter lags, a shorter horizon or a longer series")
        self.scaler.fit(y)
        held = self._validation_windows(y, validation)
        val = None if held is None else (self.scaler.inputs(held[0]), self.scaler.targets(*held))
        metrics = None if held is None else self._metrics(held, y, settings)
        self.model.fit(self.scaler.inputs(windows.X), self.scaler.targets(windows.X, windows.Y), validation=val,
                       settings=settings, metrics=metrics, on_epoch=on_epoch, progress=progress)
        self.validation_windows_ = 0 if held is None else len(held[0])
        return self

    def _validation_windows(self, y: NDArray[np.float64], validation: Any) -> tuple[Any, Any] | None:
        """(X, Y) of the windows whose every target lies in ``validation`` (their lags may reach back into the
        training part: that history is observed)."""
        if validation is None or not len(np.asarray(validation)):
            return None
        full = np.concatenate([y, np.asarray(validation, dtype=np.float64).ravel()])
        windows = lag_windows(full, self.settings.lags, self.horizon, self.settings.multi_step)
        keep = windows.origins + 1 >= len(y)
        if not keep.any():
            return None
        return windows.X[keep], windows.Y[keep]

    def _metrics(self, held: tuple[Any, Any], train: NDArray[np.float64],
                 settings: Any) -> Callable[[Any], dict[str, float]]:
        """``val_<metric>`` after each epoch, in the series' unit: the primary metric and early stopping's, on the
        validation windows' predictions (one step ahead for a recursive model, every step for a direct one)."""
        from aispec.schemas.vocabulary import METRICS

        from ..metrics import compute, mase_scale

        X, Y = held
        truth = np.asarray(Y, dtype=np.float64).ravel()
        scale = mase_scale(train, self.settings.season)
        training = dict(getattr(settings, "training", None) or {})
        stopping = training.get("early_stopping")
        monitor = str(stopping.get("monitor") or "") if isinstance(stopping, Mapping) else ""
        names = []
        for name in (str(getattr(settings, "scoring", None) or ""), monitor.removeprefix("val_")):
            info = METRICS.get(name)
            if info is not None and info.kind == "quality" and "forecasting" in {t.value for t in info.tasks} \
                    and name not in names:
                names.append(name)

        def metrics(outputs: Any) -> dict[str, float]:
            predicted = self.scaler.restore(X, np.asarray(outputs, dtype=np.float64).reshape(len(X), -1)).ravel()
            found: dict[str, float] = {}
            for name in names:
                try:
                    found.update(compute("forecasting", [name], y_true=truth, y_pred=predicted, mase_scale=scale))
                except (ConfigError, ValueError):
                    continue
            return {f"val_{k}": float(v) for k, v in found.items() if v is not None and math.isfinite(float(v))}

        return metrics

    def _predict(self, X: Any) -> NDArray[np.float64]:
        outputs = np.asarray(self.model.predict(self.scaler.inputs(X)), dtype=np.float64).reshape(len(X), -1)
        return self.scaler.restore(X, outputs)

    # ------------------------------------------------------------------------ what the run reports

    @property
    def history_(self) -> Any:
        return getattr(self.model, "history_", None)

    @property
    def settings_(self) -> Any:
        return getattr(self.model, "settings_", None)

    @property
    def device_(self) -> Any:
        return getattr(self.model, "device_", None)

    @property
    def mixed_precision_(self) -> Any:
        return getattr(self.model, "mixed_precision_", None)

    def describe(self) -> str:
        """``lstm(hidden_size=32, window 52, direct; 4,321 weights, 22 of 30 epochs)``."""
        shown = [f"{k}={v!r}" for k, v in sorted(self.params.items())]
        shown.append(f"window {len(self.settings.lags)}, {self.settings.multi_step}")
        network = getattr(self.model, "network_", None)
        history = self.history_ or {}
        if network is not None:
            weights = getattr(self.model, "weights_", 0)
            trained = len(history.get("epochs") or [])
            planned = getattr(self.settings_, "epochs", trained)
            return f"{self.family}({', '.join(shown)}; {weights:,} weights, {trained} of {planned} epochs)"
        return f"{self.family}({', '.join(shown)})"

    # --------------------------------------------------------------------------------------- export

    def export(self, directory: Path, histories: Any) -> SeriesExport:
        """``model.onnx`` (see :func:`wrap_graph`) and its parity with the framework: onnxruntime against the
        framework's network (with the same scaling in numpy) on every window the test forecasts feed it, in
        one batch and one window per call, at the window's length and at a second, shorter one."""
        length = len(self.settings.lags)
        outputs = 1 if self.settings.multi_step == "recursive" else self.horizon
        network, fixed = self._network_graph(length)
        graph = wrap_graph(network, scale=self.scaler.scale, outputs=outputs)
        path = directory / MODEL_FILE
        _write(graph, path)
        session = _session(path)
        h = _histories(histories, self.context)
        X = self._windows_seen(h)
        second = max(1, length - max(1, length // 4)) if length > 1 else None
        runs: list[tuple[NDArray[np.float64], NDArray[np.float64]]] = []
        reference = self._predict(X)
        runs += [(reference, _run(session, X, len(X))), (reference[:1], _run(session, X[:1], 1))]
        lengths = f"window length {length} only (a window of one value)"
        if second is not None:
            X2 = X[:, length - second:]
            other = session
            why = "the graph's sequence axis is dynamic"
            if fixed:  # the exporter fixed the window's length: the second length is checked on a second export
                other = _session_of(wrap_graph(self._network_graph(second)[0], scale=self.scaler.scale,
                                               outputs=outputs))
                why = f"the served graph's window is fixed at {length}; {second} on a second export"
            reference2 = self._predict(X2)
            runs += [(reference2, _run(other, X2, len(X2))), (reference2[:1], _run(other, X2[:1], 1))]
            lengths = f"window lengths {length} and {second} ({why})"
        ref = np.concatenate([r.ravel() for r, _ in runs])
        got = np.concatenate([g.ravel() for _, g in runs])
        high, mean, scale = _diffs(ref, got)
        opset = {(entry.domain or ""): int(entry.version) for entry in graph.opset_import}
        return SeriesExport(
            kind="lag", file=MODEL_FILE, outputs=[o.name for o in graph.graph.output], opset=opset,
            size_bytes=path.stat().st_size, n_values=int(got.size), max_abs_diff=high, mean_abs_diff=mean,
            scale=scale, reference=self.backend.info.title,
            runtime="onnxruntime",
            compared=f"forecasts of the {len(X)} windows of {self.settings.multi_step} {self.horizon}-step forecasts "
                     f"from {h.shape[0]} origins, in batches of {len(X)} and 1, at {lengths}",
            parameters={"input": INPUT, "outputs": outputs, "window": length, "fixed_window": fixed,
                        "scale": self.scaler.scale})

    def _network_graph(self, length: int) -> tuple[Any, bool]:
        """The back end's network as ONNX, and whether its sequence axis is fixed (at ``length``)."""
        network = self.backend.export_network(self.model, length=length)
        dims = network.graph.input[0].type.tensor_type.shape.dim
        fixed = len(dims) > 1 and dims[1].HasField("dim_value") and dims[1].dim_value > 0
        return network, bool(fixed)


def _write(graph: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(graph.SerializeToString())
    tmp.replace(path)


def _session_of(graph: Any) -> Any:
    import onnxruntime as ort  # type: ignore[import-untyped]

    options = ort.SessionOptions()
    options.log_severity_level = 3
    return ort.InferenceSession(graph.SerializeToString(), sess_options=options, providers=["CPUExecutionProvider"])


def _run(session: Any, X: NDArray[Any], chunk: int) -> NDArray[np.float64]:
    name = session.get_inputs()[0].name
    parts = [np.asarray(session.run(None, {name: X[i:i + chunk].astype(np.float32)})[0], dtype=np.float64)
             for i in range(0, len(X), chunk)]
    return np.concatenate(parts).reshape(len(X), -1)


def wrap_graph(network: Any, *, scale: float, outputs: int) -> Any:
    """The served graph: ``lags`` (float32, ``(batch, time)``, raw values oldest first) → relative to the last
    value and divided by ``scale`` → ``(batch, time, 1)`` → the network → times ``scale`` plus the last value
    → ``forecast`` ``(batch, outputs)`` in the series' unit. ``network``: an ONNX model whose one input is the
    scaled window ``(batch, time, 1)`` and whose first output is ``(batch, outputs)``."""
    import onnx
    from onnx import TensorProto, compose, helper, numpy_helper

    net = compose.add_prefix(network, prefix="network/")
    window = net.graph.input[0]
    dims = window.type.tensor_type.shape.dim
    time_dim: str | int = dims[1].dim_value if len(dims) > 1 and dims[1].HasField("dim_value") else "time"
    consts = [numpy_helper.from_array(np.array([-1], dtype=np.int64), "scaling/last_start"),
              numpy_helper.from_array(np.array([np.iinfo(np.int64).max], dtype=np.int64), "scaling/last_end"),
              numpy_helper.from_array(np.array([1], dtype=np.int64), "scaling/time_axis"),
              numpy_helper.from_array(np.array([2], dtype=np.int64), "scaling/feature_axis"),
              numpy_helper.from_array(np.array(scale, dtype=np.float32), "scaling/scale")]
    front = [
        helper.make_node("Slice", [INPUT, "scaling/last_start", "scaling/last_end", "scaling/time_axis"],
                         ["scaling/last"], name="scaling/Slice"),
        helper.make_node("Sub", [INPUT, "scaling/last"], ["scaling/relative"], name="scaling/Sub"),
        helper.make_node("Div", ["scaling/relative", "scaling/scale"], ["scaling/scaled"], name="scaling/Div"),
        helper.make_node("Unsqueeze", ["scaling/scaled", "scaling/feature_axis"], [window.name],
                         name="scaling/Unsqueeze"),
    ]
    produced = net.graph.output[0].name
    back = [
        helper.make_node("Mul", [produced, "scaling/scale"], ["scaling/unscaled"], name="scaling/Mul"),
        helper.make_node("Add", ["scaling/unscaled", "scaling/last"], [OUTPUT], name="scaling/Add"),
    ]
    graph = helper.make_graph(
        front + list(net.graph.node) + back, "aispec_forecaster",
        [helper.make_tensor_value_info(INPUT, TensorProto.FLOAT, ["batch", time_dim])],
        [helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT, ["batch", outputs])],
        initializer=list(net.graph.initializer) + consts, value_info=list(net.graph.value_info))
    versions: dict[str, int] = {}
    for entry in net.opset_import:
        versions[entry.domain or ""] = max(versions.get(entry.domain or "", 0), entry.version)
    versions[""] = max(versions.get("", 0), 13)  # Unsqueeze and Slice with their axes as inputs
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid(d, v) for d, v in sorted(versions.items())],
                              producer_name="aispec")
    model.ir_version = min(net.ir_version or onnx.IR_VERSION, onnx.IR_VERSION)
    onnx.checker.check_model(model)
    return model


# ------------------------------------------------------------------------------------------- search


def search(make: Callable[[dict[str, Any] | None], Any], space: Mapping[str, Any], values: NDArray[np.float64], *,
           n_train: int, method: str, trials: int, timeout_s: float | None, folds: int, scoring: str,
           greater_is_better: bool, seed: int, season: int, settings: Any = None) -> Any:
    """``model.search`` for a network forecaster (see the module docstring). ``values``: the series up to the end
    of the validation part (``values[:n_train]`` is the training part); without a validation part, the last
    ``folds`` horizons of the training part are held out. Returns a ``search.SearchResult`` whose trials are
    ``complete``, ``pruned`` (with the epoch) or ``failed``."""
    import dataclasses

    import optuna

    from ..metrics import compute, mase_scale
    from ..search import SearchResult, _sampler, grid_size, quiet, suggest

    probe = make(None)
    horizon = probe.horizon
    if len(values) > n_train:
        fit_end, where = n_train, f"rolling-origin forecasts over the validation part ({len(values) - n_train} steps)"
    else:
        fit_end = n_train - folds * horizon
        where = (f"rolling-origin forecasts over the last {folds * horizon} steps of the training part "
                 f"({folds} horizons; data.split.validation is 0)")
    if fit_end < probe.min_train():
        raise ConfigError(f"the search trains on the {fit_end} steps before its validation steps: a network with a "
                          f"window of {probe.context} and a horizon of {horizon} needs {probe.min_train()}",
                          hint="set data.split.validation, use fewer search.cv folds, or a shorter horizon")
    fit_part, held = values[:fit_end], values[fit_end:]
    origins = backtest.test_origins(fit_end, len(values), horizon)
    mase = mase_scale(fit_part, season)
    quiet_settings = dataclasses.replace(settings, checkpoint_dir=None, resume=False) if settings is not None else None
    grid = method == "grid"
    size = grid_size(space) if grid else None
    sign = -1.0 if greater_is_better else 1.0  # the validation loss, pointed the study's way
    records: list[dict[str, Any]] = []
    fatal: list[ConfigError] = []

    def objective(trial: Any) -> float:
        started = time.perf_counter()
        params = suggest(trial, space, grid=grid)
        record: dict[str, Any] = {"number": trial.number, "params": params, "score": None, "score_std": None,
                                  "duration_s": 0.0, "state": "failed", "error": None, "pruned_at": None,
                                  "per_epoch": []}
        records.append(record)

        def on_epoch(epoch: int, logs: Mapping[str, float]) -> None:
            value = logs.get("val_loss")
            if value is None or not math.isfinite(float(value)):
                return
            trial.report(sign * float(value), epoch)
            record["per_epoch"].append(float(value))
            if trial.should_prune():
                record["pruned_at"] = epoch + 1
                raise optuna.TrialPruned(f"validation loss {float(value):.4g} after epoch {epoch + 1}")

        try:
            forecaster = make(dict(params))
            forecaster.fit_with(fit_part, validation=held, settings=quiet_settings, on_epoch=on_epoch, progress=False)
            forecast = forecaster.forecast(backtest.histories(values, origins, forecaster.context))
            truth, predicted, _ = backtest.scored(values, origins, forecast, horizon)
            score = float(compute("forecasting", [scoring], y_true=truth, y_pred=predicted, mase_scale=mase)[scoring])
            if not math.isfinite(score):
                raise ValueError(f"the {scoring} score is not a finite number: {score}")
        except optuna.TrialPruned:
            record.update(state="pruned", duration_s=time.perf_counter() - started)
            raise
        except ConfigError as exc:  # a setting no trial can use: stop, the run reports it with the spec line
            record.update(error=exc.message, duration_s=time.perf_counter() - started)
            fatal.append(exc)
            trial.study.stop()
            raise
        except Exception as exc:
            record.update(error=f"{type(exc).__name__}: {exc}", duration_s=time.perf_counter() - started)
            raise
        record.update(score=score, score_std=0.0, state="complete", duration_s=time.perf_counter() - started)
        return score

    started = time.perf_counter()
    with quiet():
        study = optuna.create_study(direction="maximize" if greater_is_better else "minimize",
                                    sampler=_sampler(method, space, seed),
                                    pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=2))
        study.optimize(objective, n_trials=min(trials, size) if size is not None else trials, timeout=timeout_s,
                       catch=(Exception,), gc_after_trial=False, show_progress_bar=False)
    if fatal:
        raise fatal[0]
    complete = [r for r in records if r["state"] == "complete"]
    if not complete:
        first = next((r["error"] for r in records if r["error"]), "every trial was pruned")
        raise ConfigError(f"no search trial completed ({len(records)} tried); the first error: {first}",
                          hint="check the model parameters and the search space")
    best = complete[0]
    for record in complete[1:]:  # the first trial with the best score, as aispec.runtime.search picks it
        better = record["score"] > best["score"] if greater_is_better else record["score"] < best["score"]
        if better:
            best = record
    return SearchResult(best_params=dict(best["params"]), best_score=float(best["score"]), trials=records,
                        n_trials=len(records), elapsed_s=time.perf_counter() - started, method=method,
                        scoring=scoring, greater_is_better=greater_is_better,
                        n_failed=sum(1 for r in records if r["state"] == "failed"), grid_size=size,
                        validation=where + f"; each trial trained on the {fit_end} steps before them, pruned on its "
                                           "validation loss per epoch")
