"""The keyboard: Run menu keys do what their buttons do or say why not, Ctrl+Z works anywhere on the Draw tab,
Tab only stops where the user can see, and a focus ring marks where it stopped."""

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from ui_helpers import train

SEVEN = [(70, 60), (200, 60), (150, 150), (120, 240)]


def settle():
    for _ in range(3):
        QApplication.processEvents()


def press(qtbot, window, key, modifier=Qt.KeyboardModifier.ControlModifier):
    window.activateWindow()
    target = QApplication.focusWidget() or window
    qtbot.keyClick(target, key, modifier)
    settle()


def test_a_refused_shortcut_says_why_in_the_status_bar(qtbot, window):
    window.show_panel("draw")
    distil = window.run_controls.start_buttons["distilled"]
    assert not distil.isEnabled()
    action = window.shortcut_actions["distilled"]
    assert not action.isEnabled() and "teacher" in action.statusTip()  # the menu item is greyed, with the reason
    assert action.shortcut().toString() == "Ctrl+3"  # and still shows its key
    window.canvas_panel.clear_button.setFocus()
    press(qtbot, window, Qt.Key.Key_3)
    assert not window.is_training()
    message = window.statusBar().currentMessage()
    assert message.startswith("Distil:") and "train a teacher first" in message.lower()
    press(qtbot, window, Qt.Key.Key_P)  # nothing trains: Pause says so
    assert window.statusBar().currentMessage() == "Pause: Nothing is training"


def test_an_allowed_shortcut_starts_the_run_and_shows_its_curves(qtbot, window):
    window.show_panel("draw")
    window.canvas_panel.clear_button.setFocus()
    assert window.shortcut_actions["teacher"].isEnabled() and not window.refusal_shortcuts["teacher"].isEnabled()
    with qtbot.waitSignal(window.runEnded, timeout=20_000) as blocker:
        press(qtbot, window, Qt.Key.Key_1)
        assert window.tabs.currentWidget() is window.tab_pages["curves"]  # a run started from anywhere shows its curves
    assert blocker.args[0] == "finished"
    assert window.shortcut_actions["distilled"].isEnabled()  # a teacher now exists: Ctrl+3 would distil


def test_the_menu_actions_follow_their_buttons_while_a_run_trains(qtbot, window):
    started = []
    window.runStarted.connect(lambda run_id: started.append((window.shortcut_actions["pause"].isEnabled(),
                                                            window.shortcut_actions["stop"].isEnabled(),
                                                            window.shortcut_actions["teacher"].isEnabled())))
    train(qtbot, window, "teacher")
    assert started == [(True, True, False)]
    assert not window.shortcut_actions["pause"].isEnabled() and not window.shortcut_actions["stop"].isEnabled()


def test_ctrl_z_undoes_a_stroke_wherever_focus_is_on_the_draw_tab(qtbot, window):
    window.show_panel("draw")
    canvas = window.canvas_panel.canvas
    canvas.draw_stroke(SEVEN)
    canvas.draw_stroke([(60, 200), (220, 200)])
    window.canvas_panel.add_button.setFocus()
    assert QApplication.focusWidget() is window.canvas_panel.add_button
    press(qtbot, window, Qt.Key.Key_Z)
    assert len(canvas.strokes) == 1
    window.canvas_panel.slider.slider.setFocus()
    press(qtbot, window, Qt.Key.Key_Z)
    assert canvas.is_empty()


def test_ctrl_z_elsewhere_leaves_the_drawing_alone(qtbot, window):
    window.show_panel("draw")
    window.canvas_panel.canvas.draw_stroke(SEVEN)
    window.show_panel("soft_targets")
    window.soft_targets_panel.show_button.setFocus()
    press(qtbot, window, Qt.Key.Key_Z)
    assert len(window.canvas_panel.canvas.strokes) == 1


def test_tab_only_stops_on_what_can_be_seen(qtbot, window):
    window.resize(1360, 860)
    window.show_panel("soft_targets")
    settle()
    window.tabs.tabBar().setFocus()
    stops = []
    for _ in range(45):
        widget = QApplication.focusWidget()
        stops.append(widget)
        qtbot.keyClick(widget, Qt.Key.Key_Tab)
    hidden = [w for w in stops if w.visibleRegion().isEmpty() and not w.inherits("QAbstractScrollArea")]
    assert hidden == []
    assert window.soft_targets_panel.mode in stops and window.run_controls.start_buttons["teacher"] in stops
    assert window.docks["networks"].visibleRegion().isEmpty()  # behind the Data tab: none of its fields was a stop
    assert not any(window.docks["networks"].isAncestorOf(w) for w in stops)


def test_the_focus_ring_marks_the_widget_tab_moved_to(qtbot, window):
    from kdgui.ui.style import install_focus_ring

    window.show_panel("draw")
    window.canvas_panel.clear_button.setFocus()
    qtbot.keyClick(window.canvas_panel.clear_button, Qt.Key.Key_Tab)
    settle()
    ring = install_focus_ring(QApplication.instance())
    assert ring.widget() is QApplication.focusWidget() is window.canvas_panel.undo_button
    assert ring.isVisible() and ring.geometry().contains(window.canvas_panel.undo_button.geometry())
