"""Flet screens and widgets: layout and wiring only (no SQL, no HTTP, no rules)."""
