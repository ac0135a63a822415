"""`python -m mauna_loa_co2_gru` trains, evaluates, gates, exports and documents the model (`--resume`: from the last checkpoint)."""

from __future__ import annotations

import sys

from mauna_loa_co2_gru.train import main

sys.exit(main(sys.argv[1:]))
