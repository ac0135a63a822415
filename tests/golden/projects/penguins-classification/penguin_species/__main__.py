"""`python -m penguin_species` trains, evaluates, gates, exports and documents the model."""

from __future__ import annotations

import sys

from penguin_species.train import main

sys.exit(main())
