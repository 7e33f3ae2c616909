"""scripts/train_bundled.py: every bundled model has its commands, and a model's phases chain."""

from __future__ import annotations

import importlib.util
import shlex
import sys
from pathlib import Path

import pytest

from vidstyle.pretrained import bundled_models, is_lite

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tb():
    spec = importlib.util.spec_from_file_location("train_bundled", REPO / "scripts" / "train_bundled.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


def printed(tb, monkeypatch, capsys, *argv: str) -> list[list[str]]:
    monkeypatch.setattr(sys, "argv", ["train_bundled.py", "--print", *argv])
    assert tb.main() == 0
    return [shlex.split(line) for line in capsys.readouterr().out.splitlines()]


def value(argv: list[str], flag: str) -> str:
    """The last value given to ``flag`` (argparse keeps the last)."""
    return argv[len(argv) - 1 - argv[::-1].index(flag) + 1]


def test_every_bundled_model_is_reproducible(tb) -> None:
    keys = [m.key for m in tb.MODELS]
    assert len(keys) == len(set(keys))
    missing = {f"{s}.{m}" for s, m in bundled_models()} - set(keys)
    assert not missing, f"bundled models without a train_bundled entry: {sorted(missing)}"


def test_lite_models_distil_from_a_full_model_trained_before_them(tb) -> None:
    order = [m.key for m in tb.MODELS]
    for m in tb.MODELS:
        if not is_lite(m.name):
            continue
        teacher = value(m.before[0].extra, "--teacher")
        assert teacher == m.name.removesuffix("-lite")
        assert order.index(f"{teacher}.reconet") < order.index(m.key)


def test_phases_chain_and_resume(tb, tmp_path, monkeypatch, capsys) -> None:
    runs = tmp_path / "runs"
    distill, own = printed(tb, monkeypatch, capsys, "--only", "mosaic-lite.reconet", "--runs", str(runs))
    # Phase 1: distillation alone, from candy-lite, 256 crops.
    assert value(distill, "-o") == str(runs / "mosaic-lite.reconet.distill")
    assert value(distill, "--teacher") == "mosaic"
    assert value(distill, "--style-weight") == "0" and value(distill, "--content-weight") == "0"
    assert Path(value(distill, "--init")).name == "candy-lite.reconet.pt"
    # The model's own run starts from phase 1's model, VGG losses on 128 crops, no teacher.
    assert value(own, "-o") == str(runs / "mosaic-lite.reconet")
    assert value(own, "--init") == str(runs / "mosaic-lite.reconet.distill" / "model.pt")
    assert value(own, "--size") == "128" and "--teacher" not in own
    assert value(own, "--minutes") == "15"

    # An interrupted phase is resumed, not restarted; --minutes changes the own run only.
    (runs / "mosaic-lite.reconet.distill").mkdir(parents=True)
    (runs / "mosaic-lite.reconet.distill" / "checkpoint.pt").write_bytes(b"")
    distill, own = printed(tb, monkeypatch, capsys, "--only", "mosaic-lite.reconet", "--runs",
                           str(runs), "--minutes", "30")
    assert "--resume" in distill and "--init" not in distill
    assert value(distill, "--minutes") == "9" and value(own, "--minutes") == "30.0"


def test_full_model_is_one_command_from_its_bundled_self(tb, tmp_path, monkeypatch, capsys) -> None:
    (only,) = printed(tb, monkeypatch, capsys, "--only", "candy.reconet", "--runs", str(tmp_path))
    assert Path(value(only, "--init")).name == "candy.reconet.pt"
    assert value(only, "-o") == str(tmp_path / "candy.reconet")


def test_unknown_model_is_refused(tb, monkeypatch, capsys) -> None:
    monkeypatch.setattr(sys, "argv", ["train_bundled.py", "--print", "--only", "nope.reconet"])
    assert tb.main() == 1
    assert "unknown model in --only" in capsys.readouterr().err


def test_per_frame_has_no_temporal_weight(tb, tmp_path, monkeypatch, capsys) -> None:
    """The per-frame comparison model is trained without temporal loss (the CLI refuses one)."""
    runs = ["--runs", str(tmp_path)]
    (per_frame,) = printed(tb, monkeypatch, capsys, "--only", "candy.per-frame", *runs)
    assert "--temporal-weight" not in per_frame
    for key in ("candy.huang", "candy.reconet"):
        (cmd,) = printed(tb, monkeypatch, capsys, "--only", key, *runs)
        assert value(cmd, "--temporal-weight") == "50000"


def test_boosted_lite_has_a_third_phase(tb, tmp_path, monkeypatch, capsys) -> None:
    runs = tmp_path / "runs"
    distill, vgg, own = printed(tb, monkeypatch, capsys, "--only", "udnie-lite.reconet",
                                "--runs", str(runs))
    assert value(vgg, "-o") == str(runs / "udnie-lite.reconet.vgg")
    assert value(vgg, "--init") == str(runs / "udnie-lite.reconet.distill" / "model.pt")
    assert value(vgg, "--style-weight") == "3e-4" and value(vgg, "--minutes") == "15"
    assert value(own, "-o") == str(runs / "udnie-lite.reconet")
    assert value(own, "--init") == str(runs / "udnie-lite.reconet.vgg" / "model.pt")
    assert value(own, "--style-weight") == "6e-4" and value(own, "--size") == "128"
    assert value(own, "--minutes") == "10"


def test_comparison_models_train_for_candy_reconets_steps(tb, tmp_path, monkeypatch, capsys) -> None:
    """per-frame and huang get a step count (the same compute as candy reconet on any machine);
    --minutes on the command line puts a wall-clock budget back."""
    runs = ["--runs", str(tmp_path)]
    for key, steps in (("candy.huang", "1048"), ("candy.per-frame", "1015")):
        (cmd,) = printed(tb, monkeypatch, capsys, "--only", key, *runs)
        assert value(cmd, "--steps") == steps and "--minutes" not in cmd
        (cmd,) = printed(tb, monkeypatch, capsys, "--only", key, "--minutes", "20", *runs)
        assert value(cmd, "--minutes") == "20.0" and "--steps" not in cmd
    (reconet,) = printed(tb, monkeypatch, capsys, "--only", "candy.reconet", *runs)
    assert "--steps" not in reconet and value(reconet, "--minutes") == "65"


def test_continue_trains_a_bundled_model_on_without_its_phases(tb, tmp_path, monkeypatch, capsys) -> None:
    """--continue: one run from the model's own bundled file, even for a lite model with phases."""
    runs = tmp_path / "runs"
    (own,) = printed(tb, monkeypatch, capsys, "--only", "udnie-lite.reconet", "--continue",
                     "--minutes", "8", "--runs", str(runs))
    assert Path(value(own, "--init")).name == "udnie-lite.reconet.pt"
    assert value(own, "-o") == str(runs / "udnie-lite.reconet")
    assert value(own, "--size") == "128" and value(own, "--minutes") == "8.0"
    (full,) = printed(tb, monkeypatch, capsys, "--only", "mosaic.reconet", "--continue",
                      "--runs", str(runs))
    assert Path(value(full, "--init")).name == "mosaic.reconet.pt"
    (stage,) = printed(tb, monkeypatch, capsys, "--only", "mosaic.reconet", "--continue",
                       "--stability", "--minutes", "10", "--runs", str(runs))
    assert value(stage, "--frame-blur") == "3" and value(stage, "--frame-shading") == "0.3"
    assert "--frame-blur" not in full


def test_finished_run_is_not_trained_again_and_says_so(tb, tmp_path, monkeypatch, capsys) -> None:
    """A run folder that already holds its model is kept (only exported), with a line telling how
    to train it again, instead of silently re-exporting an old model."""
    run = tmp_path / "candy.reconet"
    run.mkdir()
    (run / "model.pt").write_bytes(b"")
    monkeypatch.setattr(sys, "argv", ["train_bundled.py", "--no-export", "--continue", "--only",
                                      "candy.reconet", "--runs", str(tmp_path)])
    assert tb.main() == 0
    out = capsys.readouterr().out
    assert "finished before" in out and "not trained again" in out and "--runs" in out
    assert (run / "model.pt").read_bytes() == b""


def test_a_stage_from_a_model_file_with_overrides(tb, tmp_path, monkeypatch, capsys) -> None:
    """A stage from a run's model file (not mistaken for a style name), with the style size
    and a step count overridden for the model's own run."""
    init = tmp_path / "before.stage.pt"
    init.write_bytes(b"")
    (cmd,) = printed(tb, monkeypatch, capsys, "--only", "candy.reconet", "--continue", "--runs",
                     str(tmp_path), "--init", str(init), "--stability", "--style-weight", "8e-4",
                     "--style-size", "640", "--steps", "604")
    assert value(cmd, "--init") == str(init)
    assert value(cmd, "--style-size") == "640" and value(cmd, "--style-weight") == "8e-4"
    assert value(cmd, "--steps") == "604" and "--minutes" not in cmd
    assert value(cmd, "--frame-blur") == "3"
