"""Sounding: self-hosted surveys whose answers land on Braze user profiles."""

__version__ = "0.1.0"
