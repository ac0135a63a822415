"""`python -m sms_spam_transfer` trains, evaluates, gates, exports and documents the model (`--resume`: from the last checkpoint)."""

from __future__ import annotations

import sys

from sms_spam_transfer.train import main

sys.exit(main(sys.argv[1:]))
