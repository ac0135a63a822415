"""`python -m sms_spam_transformer` trains, evaluates, gates, exports and documents the model (`--resume`: from the last checkpoint)."""

from __future__ import annotations

import sys

from sms_spam_transformer.train import main

sys.exit(main(sys.argv[1:]))
