"""The window's tabs and docks by name and title, free of Qt and torch: `kdgui --help` lists them without loading either."""

TABS = {"curves": "Training curves", "soft_targets": "Soft targets", "draw": "Draw", "experiments": "Experiments", "report": "Compare"}
DOCKS = {"data": "Data", "networks": "Networks", "training": "Training", "distillation": "Distillation", "runs": "Runs"}
SETTINGS_DOCKS = ("data", "networks", "training", "distillation")  # the left column, shown and hidden together
PANELS = tuple(DOCKS) + tuple(TABS)
