"""Reusable widgets: drawing canvas, bar charts, temperature slider."""
