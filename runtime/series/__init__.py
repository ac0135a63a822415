"""Time series: the forecasting modality, shared by every back end.

A forecasting spec describes one series (``problem.target`` ordered by ``problem.time_column`` at
``problem.frequency``) and a forecaster that, given the recent history of that series, predicts the
next ``problem.horizon`` values. The modules, from data to service:

- :mod:`.clock`: the regular time grid of a frequency (stdlib only: the service uses it too);
- :mod:`.frame`: the series put on that grid, gaps and duplicates reported in the row ledger;
- :mod:`.windows`: lag / window matrices any back end trains on (recursive or direct multi-step);
- :mod:`.kernels`: the numpy forecasting loops the service runs (numpy only);
- :mod:`.forecasters`: the families (baselines, lag regressors, ETS, ARIMA), fitted and exported;
- :mod:`.networks`: network forecasters (lstm, gru) around a network back end's model;
- :mod:`.backtest`: rolling-origin backtests, search and ``auto`` over the training part;
- :mod:`.workflow`: train, evaluate, export and serve-metadata steps, called by ``runtime.workflow``.

Nothing here is imported by ``aispec check`` / ``build``; this package's ``__init__`` imports nothing,
so the service can import :mod:`.clock` and :mod:`.kernels` without pandas or statsmodels.
"""
