"""The Qt user interface of kdgui."""
