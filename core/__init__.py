"""Checks at the edge of every request, before any view or database sees its data."""
