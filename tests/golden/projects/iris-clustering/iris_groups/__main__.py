"""`python -m iris_groups` trains, evaluates, gates, exports and documents the model."""

from __future__ import annotations

import sys

from iris_groups.train import main

sys.exit(main())
