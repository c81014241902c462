"""Business calendars: which days a schedule may fire on (weekdays, public holidays, closed dates).

Holidays come from the `holidays` package, looked up by ISO 3166 country code and optional
subdivision (e.g. PT and 11 for Lisbon). Calendars are plain values; the holiday tables they use
are built once per (country, subdivision, year) and shared.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import lru_cache

import holidays
from holidays import registry

from bastidor.flow.diagnostics import did_you_mean

_SATURDAY = 5


@dataclass(frozen=True)
class BusinessCalendar:
    """The days schedules may fire on. `is_open(day)` is False on weekends (when business days only),
    public holidays of `country`/`subdivision`, and the extra `closed` dates."""

    name: str
    business_days_only: bool = True
    country: str | None = None
    subdivision: str | None = None
    closed: frozenset[dt.date] = field(default_factory=frozenset)

    def is_open(self, day: dt.date) -> bool:
        """True when schedules using this calendar may fire on `day` (a local date)."""
        return self.closed_reason(day) is None

    def closed_reason(self, day: dt.date) -> str | None:
        """Why `day` is closed ("weekend", "holiday: Christmas Day", "closed date"), or None when open."""
        if self.business_days_only and day.weekday() >= _SATURDAY:
            return "weekend"
        if self.country is not None:
            name = holidays_of(self.country, self.subdivision, day.year).get(day)
            if name is not None:
                return f"holiday: {name}"
        if day in self.closed:
            return "closed date"
        return None

    def describe(self) -> str:
        """A short description, e.g. "Mon-Fri, PT holidays, 1 closed date"."""
        parts = ["Mon-Fri" if self.business_days_only else "every day"]
        if self.country is not None:
            region = f"-{self.subdivision}" if self.subdivision else ""
            parts.append(f"{self.country}{region} holidays")
        if self.closed:
            parts.append(f"{len(self.closed)} closed date{'s' if len(self.closed) != 1 else ''}")
        return ", ".join(parts)


@lru_cache(maxsize=256)
def holidays_of(country: str, subdivision: str | None, year: int) -> dict[dt.date, str]:
    """Public holidays of one country (and subdivision) in one year: date -> name."""
    table = holidays.country_holidays(country, subdiv=subdivision, years=year)
    return dict(table.items())


def country_problem(country: str) -> str | None:
    """Why `country` is not a holiday country we know, or None when it is."""
    if country.upper() in holidays.list_supported_countries():
        return None
    code = _country_codes_by_name().get(country.replace(" ", "").replace("_", "").lower())
    hint = f", did you mean '{code}'?" if code else did_you_mean(country.upper(), _two_letter_codes())
    return f"unknown holiday country '{country}'" + (hint or ": use a two-letter ISO 3166 code such as PT, "
                                                     "ES or GB")


def subdivision_problem(country: str, subdivision: str) -> str | None:
    """Why `subdivision` is not one of `country`'s subdivisions (code or name), or None when it is."""
    entity = getattr(holidays, country.upper())
    codes = list(getattr(entity, "subdivisions", ()))
    names = list(getattr(entity, "subdivisions_aliases", {}))
    if subdivision in codes or subdivision in names:
        return None
    if not codes:
        return f"holiday country '{country.upper()}' has no subdivisions: remove 'subdivision'"
    if subdivision.isdigit() and subdivision.zfill(2) in codes:
        return (f"unknown subdivision '{subdivision}' of {country.upper()}, did you mean "
                f"'{subdivision.zfill(2)}'? Quote codes with a leading zero: subdivision: \"{subdivision.zfill(2)}\"")
    hint = did_you_mean(subdivision, codes + names) or "; its codes are " + ", ".join(codes)
    return f"unknown subdivision '{subdivision}' of {country.upper()}{hint}"


@lru_cache(maxsize=1)
def _country_codes_by_name() -> dict[str, str]:
    names = {}
    for module_name, (class_name, code, *_rest) in registry.COUNTRIES.items():
        names[class_name.lower()] = code
        names[module_name.replace("_", "")] = code
    return names


def _two_letter_codes() -> list[str]:
    return [code for code in holidays.list_supported_countries() if len(code) == 2]
