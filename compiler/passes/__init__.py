"""Semantic passes: each a function ``Context -> Iterable[Diagnostic]``, run in order."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ..diagnostics import Diagnostic
from .columns import (
    check_dataset,
    check_declarations,
    check_duplicates,
    check_modality,
    check_references,
    check_roles,
    check_secrets,
)
from .context import Context
from .metrics import check_fairness, check_metrics
from .model import check_augmentation, check_clusters, check_model, check_search, check_split, check_training
from .operations import check_compliance, check_deployment, check_hardware, check_monitoring
from .problem import check_problem
from .series import check_series
from .support import check_personal_columns, check_support

Pass = Callable[[Context], Iterable[Diagnostic]]

PASSES: tuple[Pass, ...] = (
    check_problem,
    check_series,
    check_dataset,
    check_references,
    check_roles,
    check_duplicates,
    check_declarations,
    check_modality,
    check_secrets,
    check_split,
    check_model,
    check_search,
    check_training,
    check_clusters,
    check_augmentation,
    check_metrics,
    check_fairness,
    check_hardware,
    check_deployment,
    check_monitoring,
    check_compliance,
    check_personal_columns,
    check_support,
)

__all__ = ["PASSES", "Context", "Pass"]
