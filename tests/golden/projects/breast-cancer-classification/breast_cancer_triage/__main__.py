"""`python -m breast_cancer_triage` trains, evaluates, gates, exports and documents the model (`--resume`: keeps the trials an interrupted search finished)."""

from __future__ import annotations

import sys

from breast_cancer_triage.train import main

sys.exit(main(sys.argv[1:]))
