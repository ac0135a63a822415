"""`python -m diabetes_progression` trains, evaluates, gates, exports and documents the model."""

from __future__ import annotations

import sys

from diabetes_progression.train import main

sys.exit(main())
