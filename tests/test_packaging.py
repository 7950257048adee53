"""Packaging files: the desktop entry, the AppStream metainfo, the app icon and the PyInstaller spec agree."""

from __future__ import annotations

import configparser
import importlib.resources
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import kdgui

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # the icon test renders with Qt; no screen needed

REPO = Path(__file__).resolve().parents[1]
PACKAGING = REPO / "packaging"
APP_ID = "io.github.kdgui.kdgui"
DESKTOP = PACKAGING / f"{APP_ID}.desktop"
METAINFO = PACKAGING / f"{APP_ID}.metainfo.xml"
ICON = REPO / "resources" / "kdgui.svg"
SPEC = PACKAGING / "kdgui.spec"
SVG_NS = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def desktop_entry() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, delimiters=("=",))
    parser.optionxform = str  # keys are case-sensitive in desktop files
    parser.read(DESKTOP, encoding="utf-8")
    return parser["Desktop Entry"]


@pytest.fixture(scope="module")
def metainfo() -> ET.Element:
    return ET.parse(METAINFO).getroot()


def test_desktop_entry_keys(desktop_entry):
    assert desktop_entry["Type"] == "Application"
    assert desktop_entry["Name"] == "kdgui"
    assert desktop_entry["GenericName"]
    assert desktop_entry["Comment"]
    assert desktop_entry["Exec"] == "kdgui"
    assert desktop_entry["Icon"] == APP_ID == DESKTOP.stem
    assert desktop_entry["Terminal"] == "false"
    categories = desktop_entry["Categories"].split(";")
    assert categories[-1] == "", "a list value ends with ';'"
    assert {"Education", "ArtificialIntelligence"} <= set(categories)
    assert desktop_entry["Keywords"].endswith(";")
    assert desktop_entry["StartupWMClass"] == "kdgui"  # Qt's WM_CLASS class is the application name


def test_app_identity_matches_the_desktop_entry(desktop_entry):
    from kdgui import app

    assert app.DESKTOP_FILE == DESKTOP.stem  # QGuiApplication.setDesktopFileName: Wayland app id, taskbar icon
    assert app.APPLICATION == desktop_entry["StartupWMClass"]
    assert app.ORGANIZATION
    source = Path(app.__file__).read_text(encoding="utf-8")
    for call in ("setOrganizationName(", "setApplicationName(", "setDesktopFileName("):
        assert call in source


def test_metainfo_matches_desktop_entry_and_package(metainfo, desktop_entry):
    assert metainfo.tag == "component"
    assert metainfo.get("type") == "desktop-application"
    assert metainfo.findtext("id") == DESKTOP.stem
    launchable = metainfo.find("launchable")
    assert launchable.get("type") == "desktop-id"
    assert launchable.text == DESKTOP.name
    assert metainfo.findtext("project_license") == "MIT"
    assert metainfo.findtext("metadata_license") in {"CC0-1.0", "FSFAP"}
    assert metainfo.findtext("name") == desktop_entry["Name"]
    assert metainfo.findtext("summary")
    assert len(metainfo.findall("description/p")) >= 2
    assert len(metainfo.findall("description/ul/li")) >= 5
    assert metainfo.findtext("url[@type='homepage']") == "https://github.com/kdgui/kdgui"
    assert metainfo.find("developer").get("id")
    assert metainfo.findtext("developer/name")
    assert metainfo.find("content_rating").get("type") == "oars-1.1"
    assert {b.text for b in metainfo.findall("provides/binary")} == {"kdgui", "kdgui-cli"}
    categories = {c.text for c in metainfo.findall("categories/category")}
    assert categories <= set(desktop_entry["Categories"].split(";"))
    image = metainfo.findtext("screenshots/screenshot[@type='default']/image")
    assert image == "https://raw.githubusercontent.com/kdgui/kdgui/main/docs/screenshots/main.png"


def test_newest_release_is_the_package_version(metainfo):
    releases = metainfo.findall("releases/release")
    assert releases, "no <release>"
    newest = releases[0]  # AppStream lists releases newest first
    assert newest.get("version") == kdgui.__version__
    assert newest.get("date")


def test_icon_is_a_self_contained_svg():
    root = ET.parse(ICON).getroot()
    assert root.tag == f"{SVG_NS}svg"
    assert root.get("viewBox") == "0 0 128 128"
    assert root.get("version") == "1.1"
    hrefs = [value for element in root.iter() for key, value in element.attrib.items() if key.endswith("href")]
    assert all(href.startswith("#") for href in hrefs), f"external references: {hrefs}"
    assert root.find(f".//{SVG_NS}text") is None, "text needs fonts; draw shapes instead"
    assert root.find(f".//{SVG_NS}image") is None


def test_icon_is_installed_as_package_data():
    assert importlib.resources.files("kdgui.resources").joinpath("kdgui.svg").is_file()


def test_qt_renders_the_icon(qapp):
    from PySide6.QtGui import QIcon

    icon = QIcon(str(importlib.resources.files("kdgui.resources").joinpath("kdgui.svg")))
    image = icon.pixmap(32, 32).toImage()
    assert not image.isNull()
    assert image.pixelColor(16, 16).alpha() == 255  # the rounded square fills the middle
    assert image.pixelColor(0, 0).alpha() == 0  # and leaves the corners transparent


def test_pyinstaller_spec_bundles_the_resources():
    text = SPEC.read_text(encoding="utf-8")
    assert "kdgui.resources" in text
    assert "COLLECT(" in text, "a one-folder build"
    assert "console=False" in text
    launcher = PACKAGING / "kdgui_launcher.py"
    assert launcher.is_file()
    compile(text, str(SPEC), "exec")
    compile(launcher.read_text(encoding="utf-8"), str(launcher), "exec")


def test_python_dash_m_kdgui_runs():
    result = subprocess.run(
        [sys.executable, "-m", "kdgui", "--help"], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "--screenshot" in result.stdout


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (Debian: apt install {TOOL_PACKAGES[name]})")
    return path


TOOL_PACKAGES = {"desktop-file-validate": "desktop-file-utils", "appstreamcli": "appstream"}


def test_desktop_file_validate_is_clean():
    result = subprocess.run(
        [_tool("desktop-file-validate"), str(DESKTOP)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "", result.stdout  # no errors, warnings or hints


def test_appstreamcli_validate_is_clean():
    result = subprocess.run(
        [_tool("appstreamcli"), "validate", "--no-net", "--pedantic", str(METAINFO)],
        capture_output=True, text=True, timeout=60, check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    issues = [line for line in output.splitlines() if line[:2] in {"E:", "W:"}]
    assert not issues, output
    # Infos and pedantic notes are allowed, with one exception known to be harmless: AppStream < 1.0 does not know
    # <developer id=...> (its successor of <developer_name>, which 1.0 deprecates) and reports it as an unknown tag.
    notes = [line for line in output.splitlines() if line[:2] in {"I:", "P:"}]
    assert all("unknown-tag developer" in line for line in notes if "unknown-tag" in line), output


def test_every_package_folder_is_listed_in_pyproject():
    """pyproject names its packages one by one: a new subpackage left out would be missing from a built wheel."""
    import tomllib

    setuptools = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    on_disk = {".".join(p.parent.relative_to(REPO).parts) for p in (REPO / "kdgui").rglob("__init__.py")}
    mapped = {name for name, folder in setuptools["package-dir"].items() if (REPO / folder / "__init__.py").is_file()}
    assert mapped == {"kdgui.resources"}
    assert set(setuptools["packages"]) == on_disk | mapped
