"""`python -m penguin_species` trains, evaluates, gates, exports and documents the model (`--resume`: keeps the trials an interrupted search finished)."""

from __future__ import annotations

import sys

from penguin_species.train import main

sys.exit(main(sys.argv[1:]))
