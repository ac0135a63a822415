"""The forecasting modality's pieces, each against an outside oracle: pandas' calendar, hand-built lag
windows, a known linear process, statsmodels' own filters and forecasts."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from aispec.runtime.data import DataReport
from aispec.runtime.errors import ConfigError, DataError
from aispec.runtime.series import backtest, clock, kernels
from aispec.runtime.series.forecasters import Forecaster, SeriesSettings, make_forecaster
from aispec.runtime.series.frame import regularize
from aispec.runtime.series.windows import lag_windows


@pytest.mark.parametrize(("alias", "pandas_alias", "start"), [
    ("W-SAT", "W-SAT", "2001-12-29"), ("MS", "MS", "2000-11-01"), ("ME", "ME", "2000-11-30"),
    ("QS", "QS", "2000-10-01"), ("QE", "QE", "2000-12-31"), ("YS", "YS", "2000-01-01"), ("YE", "YE", "2000-12-31"),
    ("B", "B", "2024-02-29"), ("D", "D", "2024-02-28"), ("15min", "15min", "2024-01-01 23:30"),
    ("2W-MON", "2W-MON", "2024-01-01"), ("h", "h", "2024-03-31 22:00"),
])
def test_clock_steps_agree_with_pandas(alias: str, pandas_alias: str, start: str) -> None:
    frequency = clock.parse(alias)
    first = pd.Timestamp(start).to_pydatetime()
    expected = pd.date_range(first, periods=30, freq=pandas_alias)
    assert [first, *frequency.following(first, 29)] == [t.to_pydatetime() for t in expected]
    assert all(frequency.on_grid(t.to_pydatetime()) for t in expected)
    assert frequency.step(frequency.step(first, 5), -5) == first


def test_clock_refuses_what_it_cannot_step_and_knows_seasons() -> None:
    for bad in ("W", "M", "3X", ""):
        with pytest.raises(ValueError):
            clock.parse(bad)
    assert not clock.parse("W-SAT").on_grid(datetime(2001, 12, 30))
    assert [clock.season_of(a) for a in ("W", "W-SAT", "M", "MS", "Q", "D", "H", "2h", "5h", "Y")] == \
        [52, 52, 12, 12, 4, 7, 24, 12, 1, 1]
    assert clock.parse_timestamp("2001-12-29T01:00:00+01:00") == datetime(2001, 12, 29, 0, 0)


def _weekly(n: int = 30, *, drop: tuple[int, ...] = (), missing: tuple[int, ...] = ()) -> pd.DataFrame:
    times = pd.date_range("2001-01-06", periods=n, freq="W-SAT")
    frame = pd.DataFrame({"date": times, "y": np.arange(n, dtype=float) * 2.0})
    frame.loc[list(missing), "y"] = np.nan
    return frame.drop(index=list(drop)).dropna().sample(frac=1.0, random_state=0)  # shuffled rows


def test_regularize_orders_fills_gaps_and_records_them() -> None:
    report = DataReport(n_rows=0, n_columns=0, columns={})
    out, info = regularize(_weekly(drop=(5, 6, 7), missing=(20,)), time_column="date", target="y", frequency="W",
                           report=report)
    assert info.frequency == "W-SAT" and info.filled == 4 and info.longest_gap == 3
    np.testing.assert_allclose(out["y"], np.arange(30) * 2.0)  # a straight line, interpolated exactly
    assert list(out["date"]) == list(pd.date_range("2001-01-06", periods=30, freq="W-SAT"))
    [step] = report.rows
    assert (step.rows_in, step.rows_out) == (26, 30) and "4 steps without an observation" in step.detail


def test_regularize_refuses_repeated_and_off_grid_timestamps() -> None:
    frame = _weekly()
    with pytest.raises(DataError, match="more than once"):
        regularize(pd.concat([frame, frame.head(1)]), time_column="date", target="y", frequency="W")
    with pytest.raises(DataError, match="not on the W-FRI grid"):
        regularize(frame, time_column="date", target="y", frequency="W-FRI")
    with pytest.raises(ConfigError, match="frequency"):
        regularize(frame, time_column="date", target="y", frequency="BM")


def test_lag_windows_by_hand() -> None:
    values = np.arange(10.0)
    rec = lag_windows(values, (1, 3), horizon=4)
    assert rec.X[0].tolist() == [2.0, 0.0] and rec.Y[0].tolist() == [3.0] and len(rec) == 7
    direct = lag_windows(values, (1, 3), horizon=4, multi_step="direct")
    assert direct.X[0].tolist() == [2.0, 0.0] and direct.Y[0].tolist() == [3.0, 4.0, 5.0, 6.0] and len(direct) == 4
    assert direct.Y[-1].tolist() == [6.0, 7.0, 8.0, 9.0]


def test_recursive_and_direct_loops_on_a_known_process() -> None:
    # y_t = 0.5 y_{t-1} + 1: from 10 the next steps are 6, 4, 3, 2.5
    def ar1(X: np.ndarray) -> np.ndarray:
        return 0.5 * X[:, 0] + 1.0

    out = kernels.recursive(ar1, np.array([[7.0, 10.0], [1.0, 2.0]]), (1,), 4)
    np.testing.assert_allclose(out, [[6.0, 4.0, 3.0, 2.5], [2.0, 2.0, 2.0, 2.0]])
    steps = kernels.direct(lambda X: np.stack([X[:, 0] + k for k in range(1, 4)], axis=1), np.array([[1.0, 5.0]]),
                           (1,), 2)
    np.testing.assert_allclose(steps, [[6.0, 7.0]])
    np.testing.assert_allclose(kernels.seasonal_naive(np.array([[1.0, 2.0, 3.0, 4.0]]), 5, 3), [[2, 3, 4, 2, 3]])
    np.testing.assert_allclose(kernels.naive_sd(2.0, 5, 2), 2.0 * np.sqrt([1, 1, 2, 2, 3]))


def _seasonal(n: int = 160, season: int = 12, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return 20 + 0.1 * t + 3 * np.sin(2 * np.pi * t / season) + rng.normal(scale=0.3, size=n)


@pytest.mark.parametrize(("family", "params"), [("ets", {}), ("ets", {"damped": True, "seasonal": "none"}),
                                                ("arima", {"p": 1, "d": 1, "q": 1, "P": 0, "D": 0, "Q": 0}),
                                                ("arima", {"P": 1, "D": 1, "Q": 0, "trend": "n"})])
def test_state_space_forecasts_equal_statsmodels(family: str, params: dict[str, object], tmp_path: object) -> None:
    values = _seasonal()
    settings = SeriesSettings("t", "y", horizon=12, lags=(1,), season=12)
    forecaster = make_forecaster(family, settings=settings, params=params).fit(values[:120])
    history = values[120 - forecaster.context:120]
    ours = forecaster.forecast(history[None, :])
    mean, var = forecaster._framework(history)  # type: ignore[attr-defined]
    np.testing.assert_allclose(ours.mean[0], mean, rtol=1e-7)
    sd = np.sqrt(var * forecaster.space.scale)  # type: ignore[attr-defined]
    np.testing.assert_allclose(ours.upper[0] - ours.mean[0], kernels.Z95 * sd, rtol=1e-6)  # type: ignore[index]


def test_backtests_never_see_the_future() -> None:
    seen: list[int] = []

    class Spy(Forecaster):
        family = "spy"

        @property
        def context(self) -> int:
            return 1

        def fit(self, values: object) -> Spy:
            seen.append(len(np.asarray(values)))
            return self

        def forecast(self, histories: object) -> object:
            from aispec.runtime.series.forecasters import Forecast

            last = np.atleast_2d(np.asarray(histories))[:, -1:]
            return Forecast(np.repeat(last, self.horizon, axis=1))

    values = np.arange(100.0)
    settings = SeriesSettings("t", "y", horizon=10, lags=(1,))
    score, folds = backtest.backtest(lambda _: Spy(settings), None, values, folds=3, scoring="mae", season=1)
    assert seen == [70, 80, 90] and folds == [pytest.approx(5.5)] * 3 and score == pytest.approx(5.5)
    origins = backtest.test_origins(80, 100, 6)
    assert origins == [80, 86, 92, 98]
    truth, _, where = backtest.scored(values, origins, Spy(settings).forecast(backtest.histories(values, origins, 1)),
                                      6)
    assert truth.tolist() == values[80:].tolist() and [w[2] for w in where][-2:] == [1, 2]


def test_lag_model_export_matches_its_framework(tmp_path: object) -> None:
    from pathlib import Path

    values = _seasonal(200)
    for multi_step in ("recursive", "direct"):
        settings = SeriesSettings("t", "y", horizon=6, lags=(1, 2, 12), season=12, multi_step=multi_step)
        forecaster = make_forecaster("ridge", settings=settings, params={"alpha": 1.0}, scaling="standard")
        forecaster.fit(values[:150])
        histories = backtest.histories(values, [150, 156, 162], forecaster.context)
        result = forecaster.export(Path(str(tmp_path)) / multi_step, histories)
        assert result.parity_ok and result.kind == "lag", result
        # the service's loop on the exported graph forecasts what the training run evaluated
        from aispec.runtime.serving.forecaster import ServedForecaster

        served = ServedForecaster.load(Path(str(tmp_path)) / multi_step, {
            "kind": "lag", "file": result.file, "horizon": 6, "context": forecaster.context, "lags": [1, 2, 12],
            "multi_step": multi_step})
        expected = forecaster.forecast(histories).mean
        for row, history in enumerate(histories):
            np.testing.assert_allclose(served.forecast(history).mean, expected[row], rtol=1e-5)
