"""Bundled assets (icons, pretrained weights) installed as kdgui.resources."""
