"""What a second window remembers from the first: the Soft targets choices, the tab in front, the folded Runs list
and the hidden settings column (the window's size and place: test_inputs_and_settings)."""

from PySide6.QtCore import QSettings

from ui_helpers import train


def test_the_soft_targets_choices_survive_a_restart(make_window):
    first = make_window(quick=False)
    panel = first.soft_targets_panel
    panel.mode.setCurrentIndex(panel.mode.findData("index"))
    panel.choice.setText("0, 17, 1234")
    panel.count.setValue(3)
    panel.heatmap_mode.setCurrentIndex(panel.heatmap_mode.findData(False))
    first.close()

    second = make_window(quick=False)
    restored = second.soft_targets_panel
    assert restored.mode.currentData() == "index"
    assert restored.choice.text() == "0, 17, 1234" and restored.choice.isEnabled()
    assert restored.count.value() == 3
    assert restored.heatmap_mode.currentData() is False


def test_the_tab_the_folded_runs_list_and_the_hidden_settings_survive_a_restart(qtbot, make_window):
    first = make_window()
    train(qtbot, first, "teacher")
    first.show_panel("draw")
    first.runs_dock.set_folded(False)
    first.set_settings_panels_shown(False)
    first.close()

    second = make_window()
    assert second.tabs.currentWidget() is second.tab_pages["draw"]
    assert not second.runs_dock.folded and not second.runs_dock.isHidden()
    assert not second.settings_panels_shown()
    second.set_settings_panels_shown(True)
    assert second.settings_panels_shown()
    second.runs_dock.set_folded(True)
    second.close()

    third = make_window()
    assert third.runs_dock.folded and third.settings_panels_shown()


def test_a_hand_edited_soft_targets_setting_keeps_the_defaults(make_window):
    import json

    settings = QSettings()
    settings.setValue("config/last", json.dumps({"version": 1, "soft_targets": {"mode": "nonsense", "choice": 5,
                                                                                "count": 999, "hide_diagonal": "yes"}}))
    settings.sync()
    window = make_window(quick=False)
    panel = window.soft_targets_panel
    assert panel.mode.currentData() == "class" and panel.choice.text() == "4, 9, 3, 5"
    assert panel.count.value() == 1 and panel.heatmap_mode.currentData() is True
