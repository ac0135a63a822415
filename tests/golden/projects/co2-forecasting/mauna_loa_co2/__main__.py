"""`python -m mauna_loa_co2` trains, evaluates, gates, exports and documents the model."""

from __future__ import annotations

import sys

from mauna_loa_co2.train import main

sys.exit(main())
