"""Branding."""
