"""`python -m penguin_species_ray` trains, evaluates, gates, exports and documents the model (`--resume`: from the last checkpoint)."""

from __future__ import annotations

import sys

from penguin_species_ray.train import main

sys.exit(main(sys.argv[1:]))
