"""Komunalka's channels, dialogs and operator entry points."""
