"""`python -m digit_reader_keras` trains, evaluates, gates, exports and documents the model (`--resume`: from the last checkpoint)."""

from __future__ import annotations

import sys

from digit_reader_keras.train import main

sys.exit(main(sys.argv[1:]))
