"""`python -m sms_spam_filter` trains, evaluates, gates, exports and documents the model (`--resume`: keeps the trials an interrupted search finished)."""

from __future__ import annotations

import sys

from sms_spam_filter.train import main

sys.exit(main(sys.argv[1:]))
