"""`python -m breast_cancer_outliers` trains, evaluates, gates, exports and documents the model (`--resume`: keeps the trials an interrupted search finished)."""

from __future__ import annotations

import sys

from breast_cancer_outliers.train import main

sys.exit(main(sys.argv[1:]))
