"""The recipe options in the app: a CNN teacher on the Networks panel, schedule, weight decay and augmentation per
stage on the Training panel, the best-student recipe filling three panels, and all of it remembered."""

import dataclasses
import json

from PySide6.QtCore import QSettings

from kdgui.core import config as C
from kdgui.core.runs import RunStore
from ui_helpers import train


def choose(combo, key) -> None:
    combo.setCurrentIndex(combo.findData(key))


def test_the_teacher_can_be_a_cnn_and_switching_back_keeps_each_architecture(window):
    teacher = window.networks_panel.teacher
    assert teacher.arch_combo.isVisibleTo(window) and not window.networks_panel.student.arch_combo.isVisibleTo(window)
    assert not teacher.conv.isVisibleTo(window)
    choose(teacher.arch_combo, "cnn")
    assert teacher.conv.isVisibleTo(window)
    assert window.networks_panel.teacher_spec() == C.BEST_TEACHER_SPEC  # the best recipe's CNN to start
    teacher.conv.setText("4, 8")
    choose(teacher.kernel_combo, 5)
    choose(teacher.pool_combo, "avg")
    teacher.layers.set_layers(())  # a CNN may go straight from its conv blocks to the outputs
    spec = window.networks_panel.teacher_spec()
    assert (spec.arch, spec.conv, spec.kernel, spec.pool, spec.hidden) == ("cnn", (4, 8), 5, "avg", ())
    assert teacher.summary.text().startswith("CNN 4-8 conv (5x5, avg pool): 4,")
    choose(teacher.arch_combo, "mlp")
    assert window.networks_panel.teacher_spec().hidden == (32, 32)  # the quick window's MLP comes back
    choose(teacher.arch_combo, "cnn")
    assert window.networks_panel.teacher_spec() == spec


def test_a_refused_conv_list_shows_the_cores_reason(window):
    teacher = window.networks_panel.teacher
    choose(teacher.arch_combo, "cnn")
    teacher.conv.setText("8, 2000")
    assert window.networks_panel.teacher_spec() is None
    assert "channels of conv block 2 must be between 1 and 1024, got 2000" in window.networks_panel.problem_label.text()
    assert not window.run_controls.start_buttons["teacher"].isEnabled()
    teacher.conv.setText("1, 2, 3, 4, 5")
    assert f"a CNN needs 1 to {C.MAX_CONV_BLOCKS} conv blocks, got 5" in teacher.problems()[0]
    teacher.conv.setText("eight")
    assert "whole numbers separated by commas" in teacher.problems()[0]
    teacher.conv.setText("8")
    assert window.networks_panel.teacher_spec().conv == (8,)


def test_schedule_weight_decay_and_augmentation_reach_the_train_config(window):
    panel = window.training_panel
    form = panel.forms["student"]
    panel.select_stage("student")
    assert not form.strength_box.isVisibleTo(window)  # no augmentation, no strengths to set
    choose(form.schedule_combo, "one_cycle")
    form.weight_decay.setValue(1e-4)
    choose(form.augment_combo, "affine")
    assert form.strength_box.isVisibleTo(window) and not form.strengths["elastic_alpha"].isVisibleTo(window)
    form.strengths["rotate"].setValue(15)
    config = panel.train_config("student")
    assert (config.schedule, config.weight_decay) == ("one_cycle", 1e-4)
    assert config.augment == C.AugmentConfig(kind="affine", rotate=15.0)
    choose(form.augment_combo, "affine+elastic")
    form.strengths["elastic_sigma"].setValue(6)
    assert panel.train_config("student").augment.elastic_sigma == 6.0
    form.strengths["rotate"].setValue(120)  # the field takes the number; the core refuses it, with its reason
    assert panel.train_config("student") is None
    assert "augmentation rotation must be between 0.0 and 90.0, got 120" in panel.problem_label.text()
    assert not window.run_controls.start_buttons["student"].isEnabled()
    form.strengths["rotate"].setValue(15)
    form.all_stages_button.click()  # the same augmentation for a fair comparison
    augment = panel.train_config("student").augment
    assert panel.train_config("teacher").augment == augment == panel.train_config("distilled").augment
    assert panel.train_config("teacher").schedule == "constant"  # only the augmentation is shared


def test_the_best_recipe_fills_networks_training_and_distillation_and_the_seed_comes_back(window):
    panel = window.training_panel
    panel.set_train_limit(1_000)
    panel.apply_recipe("best")
    assert window.networks_panel.teacher_spec() == C.BEST_TEACHER_SPEC
    assert window.networks_panel.student_spec() == C.BEST_STUDENT_SPEC
    settings = {"seed": 0, "device": "auto", "train_limit": 1_000}  # the user's data size, seed and device stay
    assert panel.train_config("teacher") == dataclasses.replace(C.BEST_TEACHER_TRAIN, **settings)
    for stage in ("student", "distilled"):
        assert panel.train_config(stage) == dataclasses.replace(C.BEST_STUDENT_TRAIN, **settings)
    assert window.distillation_panel.distill_config() == C.BEST_DISTILL
    assert window.training_temperature.temperature == 2.0
    assert "CNN 32-64 conv" in panel.apply_button.toolTip()
    assert panel.reset_button.text() == "Recipe's values for this stage"
    panel.forms["teacher"].epochs.setValue(3)
    panel.reset_button.click()
    assert panel.train_config("teacher").epochs == C.BEST_TEACHER_TRAIN.epochs
    panel.apply_recipe("seed")
    assert window.networks_panel.teacher_spec() == C.TEACHER_SPEC
    assert panel.train_config("distilled") == dataclasses.replace(C.SEED_DISTILL_TRAIN, **settings)
    assert window.distillation_panel.distill_config() == C.SEED_DISTILL


def test_the_new_settings_survive_a_restart_and_old_settings_still_restore(make_window):
    first = make_window(quick=False)
    first.training_panel.apply_recipe("best")
    first.networks_panel.teacher.conv.setText("16, 32, 64")
    first.training_panel.forms["teacher"].weight_decay.setValue(0.001)
    first.close()
    second = make_window(quick=False)
    assert second.networks_panel.teacher_spec() == dataclasses.replace(C.BEST_TEACHER_SPEC, conv=(16, 32, 64))
    assert second.training_panel.recipe() == "best"
    teacher = second.training_panel.train_config("teacher")
    assert (teacher.schedule, teacher.weight_decay, teacher.augment) == ("one_cycle", 0.001, C.BEST_AUGMENT)
    assert second.distillation_panel.distill_config().loss == "hinton"
    second.close()

    old = {"version": 1, "networks": {"teacher": {"hidden": [300], "dropout": [0.1], "activation": "tanh", "input_dropout": 0.0}},
           "training": {"stages": {"student": {"epochs": 4, "lr": 0.01, "batch_size": 50, "eval_every": 0}}}}
    settings = QSettings()
    settings.setValue("config/last", json.dumps(old))
    settings.sync()
    third = make_window(quick=False)
    assert third.networks_panel.teacher_spec() == C.NetSpec(hidden=(300,), dropout=(0.1,), activation="tanh")
    student = third.training_panel.train_config("student")
    assert (student.epochs, student.schedule, student.augment) == (4, "constant", C.NO_AUGMENT)


def test_a_cnn_teacher_trained_on_augmented_images_distils_in_the_app(qtbot, window):
    teacher = window.networks_panel.teacher
    choose(teacher.arch_combo, "cnn")
    teacher.conv.setText("4")
    teacher.layers.set_layers((16,))
    form = window.training_panel.forms["teacher"]
    choose(form.augment_combo, "affine")
    choose(form.schedule_combo, "cosine")
    form.all_stages_button.click()
    outcome, teacher_run = train(qtbot, window, "teacher")
    assert outcome == "finished"
    run = RunStore().get(teacher_run)
    assert run.job.net.conv == (4,) and run.job.train.augment.kind == "affine" and run.job.train.schedule == "cosine"
    assert window.distillation_panel.teacher_run_id() == teacher_run
    outcome, distilled_run = train(qtbot, window, "distilled")
    assert outcome == "finished"
    job = RunStore().get(distilled_run).job
    assert job.teacher_run == teacher_run and job.train.augment.kind == "affine" and not job.net.is_cnn
    window.networks_panel.teacher.set_spec(C.TEACHER_SPEC)
    choose(window.training_panel.forms["teacher"].augment_combo, "none")
    window.runs_view.reopen(teacher_run)  # reopening the run puts its CNN and its augmentation back
    assert window.networks_panel.teacher_spec() == run.job.net
    assert window.training_panel.train_config("teacher").augment == run.job.train.augment


def test_distil_refuses_augmentation_on_a_noise_transfer_set_before_it_starts(qtbot, window):
    """Each panel's values are fine alone, but the core refuses the pair: the Distil button says so, not a banner later."""
    train(qtbot, window, "teacher")
    button = window.run_controls.start_buttons["distilled"]
    assert button.isEnabled()
    choose(window.distillation_panel.transfer_combo, "noise")
    choose(window.training_panel.forms["distilled"].augment_combo, "affine")
    window.update_actions()
    assert not button.isEnabled()
    assert "Random noise is no image to augment: set augmentation to none" == button.toolTip()
    choose(window.training_panel.forms["distilled"].augment_combo, "none")
    window.update_actions()
    assert button.isEnabled()
