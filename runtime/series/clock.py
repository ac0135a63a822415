"""The regular time grid of a series: steps of a frequency, with the standard library only.

Training (through pandas) and the service (without pandas) must agree on what "the next timestamp"
is, so both use this module. A frequency is one of the pandas aliases below, with an optional
multiple (``15min``, ``2W-SAT``); weekly frequencies are always anchored on a weekday:

=============  =================================================================
``D``           calendar days
``B``           business days (Monday to Friday)
``W-MON`` ...   weeks ending on that weekday
``h``, ``min``, ``s``, ``ms``   hours, minutes, seconds, milliseconds
``MS`` / ``ME``  first / last day of the month
``QS`` / ``QE``  first / last day of the quarter (quarters start in January, April, July, October)
``YS`` / ``YE``  first / last day of the year
=============  =================================================================
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

__all__ = ["DAYS", "Frequency", "format_timestamp", "parse", "parse_timestamp"]

DAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
_FIXED = {"D": timedelta(days=1), "h": timedelta(hours=1), "min": timedelta(minutes=1), "s": timedelta(seconds=1),
          "ms": timedelta(milliseconds=1)}
_MONTHS = {"MS": 1, "ME": 1, "QS": 3, "QE": 3, "YS": 12, "YE": 12}
_ALIAS = re.compile(r"^([1-9][0-9]*)?(D|B|W-(?:MON|TUE|WED|THU|FRI|SAT|SUN)|h|min|s|ms|MS|ME|QS|QE|YS|YE)$")
# the season a frequency implies when the spec gives none: one year (or one week of days or hours)
SEASONS = {"D": 7, "B": 5, "W": 52, "h": 24, "MS": 12, "ME": 12, "QS": 4, "QE": 4, "YS": 1, "YE": 1,
           "min": 60, "s": 60, "ms": 1}


@dataclass(frozen=True, slots=True)
class Frequency:
    """A parsed frequency: ``n`` steps of ``unit`` (``W-SAT``: unit ``W``, weekday 5)."""

    alias: str  # canonical text, e.g. "W-SAT", "15min", "MS"
    n: int
    unit: str  # D, B, W, h, min, s, ms, MS, ME, QS, QE, YS, YE
    weekday: int | None = None  # W: the weekday every timestamp falls on (0 = Monday)

    @property
    def default_season(self) -> int:
        """Steps in the natural cycle of this frequency (a year, or a week of days), 1 for none."""
        base = SEASONS[self.unit]
        return max(1, base // self.n) if base % self.n == 0 else 1

    @property
    def daily_or_coarser(self) -> bool:
        return self.unit not in ("h", "min", "s", "ms")

    def on_grid(self, moment: datetime) -> bool:
        """Whether ``moment`` can be a timestamp of this frequency (its anchor: weekday, month end, ...)."""
        if self.daily_or_coarser and (moment.hour, moment.minute, moment.second, moment.microsecond) != (0, 0, 0, 0):
            return False
        if self.unit == "B":
            return moment.weekday() < 5
        if self.unit == "W":
            return moment.weekday() == self.weekday
        if self.unit in ("MS", "QS", "YS"):
            return moment.day == 1 and (moment.month - 1) % _MONTHS[self.unit] == 0
        if self.unit in ("ME", "QE", "YE"):
            last = calendar.monthrange(moment.year, moment.month)[1]
            return moment.day == last and moment.month % _MONTHS[self.unit] == 0
        return True

    def step(self, moment: datetime, k: int = 1) -> datetime:
        """The timestamp ``k`` steps after ``moment`` (a grid timestamp; ``k`` may be negative)."""
        if self.unit in _FIXED:
            return moment + _FIXED[self.unit] * (self.n * k)
        if self.unit == "W":
            return moment + timedelta(weeks=self.n * k)
        if self.unit == "B":
            out = moment
            remaining = self.n * k
            direction = 1 if remaining >= 0 else -1
            while remaining:
                out += timedelta(days=direction)
                if out.weekday() < 5:
                    remaining -= direction
            return out
        months = _MONTHS[self.unit] * self.n * k
        index = moment.year * 12 + (moment.month - 1) + months
        year, month = divmod(index, 12)
        day = 1 if self.unit.endswith("S") else calendar.monthrange(year, month + 1)[1]
        return moment.replace(year=year, month=month + 1, day=day)

    def following(self, last: datetime, count: int) -> list[datetime]:
        """The ``count`` timestamps after ``last``."""
        return [self.step(last, k) for k in range(1, count + 1)]


def parse(alias: str) -> Frequency:
    """A frequency alias (see the module docstring) as a :class:`Frequency`; ValueError when unsupported.

    Plain ``W`` is not accepted here: it must be anchored on the weekday the data uses (``W-SAT``)."""
    match = _ALIAS.match(alias.strip())
    if not match:
        raise ValueError(f"unsupported frequency {alias!r} (use D, B, W-SAT, h, 15min, s, ms, MS, ME, QS, QE, YS "
                         "or YE, optionally with a multiple)")
    n = int(match.group(1) or 1)
    unit = match.group(2)
    weekday = None
    if unit.startswith("W-"):
        weekday = DAYS.index(unit[2:])
        unit = "W"
    return Frequency(alias=f"{n if n > 1 else ''}{match.group(2)}", n=n, unit=unit, weekday=weekday)


def parse_timestamp(text: str) -> datetime:
    """An ISO 8601 timestamp (``2001-12-29``, ``2001-12-29T06:00:00``, with an offset or ``Z``) as a naive
    UTC datetime, the form training used; ValueError when it is not one."""
    value = datetime.fromisoformat(text.strip())
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def format_timestamp(moment: datetime, frequency: Frequency) -> str:
    """ISO 8601: the date alone for daily or coarser frequencies, else date and time."""
    if frequency.daily_or_coarser:
        return moment.date().isoformat()
    return moment.isoformat(timespec="milliseconds" if frequency.unit == "ms" else "seconds")


_OLD = {"M": "ME", "Q": "QE", "Y": "YE", "A": "YE", "AS": "YS", "H": "h", "T": "min", "S": "s", "BM": "ME"}


def season_of(alias: str) -> int:
    """The default season of a spec's ``problem.frequency`` (pandas spellings, old ones and a plain ``W``
    included): one year of steps (a week of days, a day of hours), 1 when the frequency has none."""
    text = alias.strip()
    digits = len(text) - len(text.lstrip("0123456789"))
    n = int(text[:digits] or 1)
    unit = text[digits:]
    unit = _OLD.get(unit, unit)
    unit = "W" if unit.startswith("W") else unit
    base = SEASONS.get(unit, 1)
    return max(1, base // n) if base % n == 0 else 1
