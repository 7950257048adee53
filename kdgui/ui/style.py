"""The app's few fixed colours in one place: run colours, role colours, and muted or hint text."""

from __future__ import annotations

# Ten distinguishable colours (matplotlib's tab10), one per run in the order runs are first seen.
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
# One colour per role, shared by every view that shows the lineup's networks (bars, legends, answers, the lineup bar).
ROLE_COLOURS = {"teacher": "#1f77b4", "student": "#ff7f0e", "distilled": "#2ca02c"}
HINT_COLOUR = "#0d47a1"
MUTED_COLOUR = "#666666"
