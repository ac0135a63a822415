"""`python -m wine_cultivar` trains, evaluates, gates, exports and documents the model."""

from __future__ import annotations

import sys

from wine_cultivar.train import main

sys.exit(main())
