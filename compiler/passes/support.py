"""Settings the build cannot honour yet (AIS410), and columns that look like undeclared personal data
(AIS329): the two ways a spec could otherwise pass silently with something it did not mean."""

from __future__ import annotations

import re
from collections.abc import Iterator

from ..buildable import unbuildable, unhonoured
from ..diagnostics import Diagnostic
from .context import Context


def check_support(ctx: Context) -> Iterator[Diagnostic]:
    for gap in (*unbuildable(ctx.spec), *unhonoured(ctx.spec)):
        yield ctx.report("AIS410", gap.message, gap.loc, gap.hint, key=gap.key)


# Column names that usually hold personal data, matched on the name's words (split at _ - . space and
# case changes), so `customer_email` and `PhoneNumber` match and `tissue_name` does not match `name` alone
# only when the other word says it is not a person's (a short allow-list of common non-personal names).
_PERSONAL = re.compile(
    r"^(e_?mail|email_?address|phone|phone_?number|mobile|telephone|tel|first_?name|last_?name|full_?name|"
    r"surname|given_?name|name|customer_?name|patient_?name|address|street|street_?address|zip|zip_?code|"
    r"postcode|postal_?code|ssn|social_?security_?number|passport|passport_?number|national_?id|iban|"
    r"credit_?card|card_?number|date_?of_?birth|dob|birth_?date|birthday|ip|ip_?address)$")
_NOT_PERSONAL = frozenset({"species_name", "product_name", "file_name", "filename", "feature_name", "class_name",
                           "column_name", "model_name", "host_name", "hostname", "user_agent"})


def _looks_personal(name: str) -> bool:
    words = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()
    words = re.sub(r"[^a-z0-9]+", "_", words).strip("_")
    if words in _NOT_PERSONAL:
        return False
    if _PERSONAL.match(words):
        return True
    parts = words.split("_")
    # `customer_email`, `contact_phone`: the last word (or last two) names personal data
    tail = [parts[-1], "_".join(parts[-2:])] if len(parts) > 1 else []
    return any(_PERSONAL.match(t) and t not in ("name", "ip", "tel", "zip") for t in tail)


def check_personal_columns(ctx: Context) -> Iterator[Diagnostic]:
    columns = ctx.spec.data.columns or {}
    declared = set(ctx.spec.compliance.pii)
    for name in columns:
        if name not in declared and _looks_personal(name):
            yield ctx.report("AIS329", f"column '{name}' looks like personal data but is not in compliance.pii",
                             ("data", "columns", name),
                             "list it under compliance.pii (it is then never a model input, never logged or "
                             "reported), or rename it if it holds no personal data", key=True)
