"""What every semantic pass sees, and the helper it reports through."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from aispec.runtime.registry import BACKENDS, BackendInfo
from aispec.schemas.catalog import DATASETS, Dataset
from aispec.schemas.spec import BundledSource, ImageFolderSource, Spec
from aispec.schemas.vocabulary import FAMILIES, Backend, Family

from ..codes import make
from ..diagnostics import Diagnostic
from ..raw import RawSpec
from ..source import Loc, LocationMap


def image_folder_columns(spec: Spec) -> dict[str, str]:
    """The columns an ``image_folder`` source reads as (``runtime.images.folder``): the images, and the class
    folder's name as the target (``problem.target``, default ``label``)."""
    return {"image": "image", spec.problem.target or "label": "categorical"}


@dataclass(frozen=True)
class Context:
    spec: Spec
    raw: RawSpec
    locations: LocationMap
    file: str

    def report(self, code: str, message: str, loc: Loc, hint: str | None = None, *, key: bool = False) -> Diagnostic:
        """A diagnostic at ``loc``'s value (or its key with ``key=True``)."""
        span = self.locations.key_span(loc) if key else self.locations.value_span(loc)
        return make(code, message, span=span, loc=loc, hint=hint, file=self.file)

    def written(self, loc: Loc) -> bool:
        """Whether the spec text sets ``loc`` (as opposed to a default)."""
        return loc in self.locations.values

    @cached_property
    def dataset(self) -> Dataset | None:
        src = self.spec.data.source
        return DATASETS.get(src.name) if isinstance(src, BundledSource) else None

    @cached_property
    def columns(self) -> dict[str, str] | None:
        """Known columns (name → type): the declared schema, else a bundled dataset's; None when unknown."""
        if self.spec.data.columns is not None:
            return {name: col.type.value for name, col in self.spec.data.columns.items()}
        if self.dataset is not None:
            return dict(self.dataset.columns)
        if isinstance(self.spec.data.source, ImageFolderSource):
            return image_folder_columns(self.spec)
        return None

    @property
    def columns_origin(self) -> str:
        if self.spec.data.columns is not None:
            return "data.columns"
        return f"dataset '{self.dataset.name}'" if self.dataset else "the data"

    @cached_property
    def features(self) -> list[str] | None:
        """The model's inputs: as listed, else every known column but the target, time, group, dropped and PII
        columns; None when the columns are not known before the data is read."""
        spec = self.spec
        if spec.data.features is not None:
            return list(spec.data.features)
        if self.columns is None:
            return None
        excluded = set(spec.data.drop) | set(spec.compliance.pii)
        excluded |= {c for c in (spec.problem.target, spec.problem.time_column, spec.data.split.group_column) if c}
        return [c for c in self.columns if c not in excluded]

    @cached_property
    def family(self) -> Family | None:
        return FAMILIES.get(self.spec.model.family)

    @cached_property
    def declared(self) -> BackendInfo | None:
        """What the back end in effect declares it can do (``aispec.runtime.registry``)."""
        return BACKENDS.get(self.backend) if self.backend is not None else None

    @cached_property
    def backend(self) -> Backend | None:
        """The back end in effect: as written, else the family's default."""
        if self.spec.model.backend is not None:
            return self.spec.model.backend
        return self.family.default_backend if self.family else None
