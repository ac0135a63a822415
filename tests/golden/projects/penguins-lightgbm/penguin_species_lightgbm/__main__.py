"""`python -m penguin_species_lightgbm` trains, evaluates, gates, exports and documents the model."""

from __future__ import annotations

import sys

from penguin_species_lightgbm.train import main

sys.exit(main())
