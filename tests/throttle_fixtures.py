"""A clock the throttle counts by, moved by the test: limits over minutes, tested in no time."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from sounding.accounts import throttle


class Clock:
    def __init__(self) -> None:
        self.now = timezone.now()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(throttle, "clock", fake)
    return fake
