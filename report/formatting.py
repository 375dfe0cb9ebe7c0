"""How numbers read in the terminal and HTML: one place, so both show the same text."""

from __future__ import annotations

NOT_AVAILABLE = "n/a"


def number(value: float | int | None, digits: int = 1) -> str:
    if value is None:
        return NOT_AVAILABLE
    if isinstance(value, int) or float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.{digits}f}"


def percent(value: float | None) -> str:
    return NOT_AVAILABLE if value is None else f"{value * 100:.1f}%"


def usd(value: float | None) -> str:
    if value is None:
        return NOT_AVAILABLE
    return f"${value:,.4f}" if abs(value) < 1 else f"${value:,.2f}"


def fraction(value: float | None) -> str:
    return NOT_AVAILABLE if value is None else f"{value:.3f}"


def shorten(text: str, width: int = 32) -> str:
    return text if len(text) <= width else text[: width - 1] + "\u2026"
