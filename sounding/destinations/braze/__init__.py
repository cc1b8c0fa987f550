"""Braze: answers become custom attributes (and optional events) on the user's profile."""
