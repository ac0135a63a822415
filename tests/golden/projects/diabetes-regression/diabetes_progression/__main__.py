"""`python -m diabetes_progression` trains, evaluates, gates, exports and documents the model (`--resume`: keeps the trials an interrupted search finished)."""

from __future__ import annotations

import sys

from diabetes_progression.train import main

sys.exit(main(sys.argv[1:]))
