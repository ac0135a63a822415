"""`python -m digit_reader_svm` trains, evaluates, gates, exports and documents the model."""

from __future__ import annotations

import sys

from digit_reader_svm.train import main

sys.exit(main())
