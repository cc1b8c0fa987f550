"""Number formatting for the report's templates."""

from __future__ import annotations

from django import template

from sounding.reports.results import show_percent

register = template.Library()


@register.filter
def count(value: int | None) -> str:
    """12345 → "12,345"."""
    return "—" if value is None else f"{value:,}"


@register.filter
def pct(value: float | None) -> str:
    """A percentage, whole unless a tenth matters: 42% or 42.5%."""
    return show_percent(value)
