"""Training: presets, resumable bit for bit, Ctrl-C, bad input, torchrun with 2 CPU processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from vidstyle.cli import main
from vidstyle.errors import CheckpointError, VidstyleError
from vidstyle.models import load_checkpoint
from vidstyle.training import preset_config
from vidstyle.training.loop import CHECKPOINT, LOG, MODEL, train


def _cfg(style, photos, **kw):
    return preset_config("debug", style=style, data=(f"photos:{photos}",), **kw)


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return load_checkpoint(path)[0].state_dict()


def test_debug_preset_trains_and_writes_everything(tmp_path, style, photos):
    out = tmp_path / "run"
    path = train(_cfg(style, photos), out, device="cpu", progress=False)
    assert path == out / MODEL
    model, ckpt = load_checkpoint(path)
    assert ckpt["meta"]["preset"] == "debug" and ckpt["meta"]["steps"] == 4
    assert ckpt["meta"]["train_config"]["style"] == style
    rows = (out / LOG).read_text().splitlines()
    assert rows[0].startswith("step,lr,total,content,style,tv,temp_f,temp_o")
    assert len(rows) == 5  # header + one row per step (log_every=1)
    assert sorted(p.name for p in (out / "samples").iterdir()) == [
        "step_000002.png", "step_000004.png"]
    assert "train_state" in torch.load(out / CHECKPOINT, weights_only=True)
    assert model(torch.rand(1, 3, 20, 20)).shape == (1, 3, 20, 20)


@pytest.mark.parametrize("preset", ["per-frame", "huang", "reconet"])
def test_presets_train_their_losses(tmp_path, style, photos, preset):
    debug = preset_config("debug")
    cfg = preset_config(preset, style=style, data=(f"photos:{photos}",), steps=2, size=32,
                        batch_size=1, num_workers=0, model=debug.model, log_every=1,
                        style_size=64)
    train(cfg, tmp_path / preset, device="cpu", progress=False)
    import csv

    rows = list(csv.DictReader(open(tmp_path / preset / LOG)))
    temp_f = float(rows[0]["temp_f"])
    temp_o = float(rows[0]["temp_o"])
    assert float(rows[0]["style"]) > 0 and float(rows[0]["content"]) > 0
    assert (temp_f > 0) == (preset == "reconet")
    assert (temp_o > 0) == (preset in ("huang", "reconet"))


def test_loss_decreases_over_a_short_run(tmp_path, style, photos):
    cfg = _cfg(style, photos, steps=30, log_every=1, lr=3e-3, sample_every=1000,
               checkpoint_every=1000)
    train(cfg, tmp_path / "r", device="cpu", progress=False)
    import csv

    totals = [float(r["total"]) for r in csv.DictReader(open(tmp_path / "r" / LOG))]
    assert sum(totals[-5:]) / 5 < 0.8 * sum(totals[:5]) / 5


def _interrupt_at(monkeypatch, n: int):
    """Make the n-th loss evaluation raise KeyboardInterrupt (as Ctrl-C would)."""
    import vidstyle.training.loop as loop

    calls = {"n": 0}
    orig = loop.Losses.forward

    def interrupted(self, model, batch):
        calls["n"] += 1
        if calls["n"] == n:
            raise KeyboardInterrupt
        return orig(self, model, batch)

    monkeypatch.setattr(loop.Losses, "forward", interrupted)
    return lambda: monkeypatch.setattr(loop.Losses, "forward", orig)


def test_resume_is_bit_exact(tmp_path, style, photos, monkeypatch):
    cfg = _cfg(style, photos, steps=6, checkpoint_every=1000)
    straight = train(cfg, tmp_path / "a", device="cpu", progress=False)
    restore = _interrupt_at(monkeypatch, 4)
    with pytest.raises(KeyboardInterrupt):
        train(cfg, tmp_path / "b", device="cpu", progress=False)
    restore()
    assert torch.load(tmp_path / "b" / CHECKPOINT, weights_only=True)["train_state"]["step"] == 3
    resumed = train(cfg, tmp_path / "b", device="cpu", resume=True, progress=False)
    wa, wb = _weights(straight), _weights(resumed)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert load_checkpoint(resumed)[1]["meta"]["steps"] == 6


def test_ctrl_c_saves_a_checkpoint_then_resume_completes(tmp_path, style, photos, monkeypatch):
    restore = _interrupt_at(monkeypatch, 3)
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        train(_cfg(style, photos, steps=6, checkpoint_every=1000), out, device="cpu",
              progress=False)
    restore()
    ckpt = torch.load(out / CHECKPOINT, weights_only=True)
    assert ckpt["train_state"]["step"] == 2
    assert not (out / MODEL).exists()
    train(_cfg(style, photos, steps=6), out, device="cpu", resume=True, progress=False)
    assert load_checkpoint(out / MODEL)[1]["meta"]["steps"] == 6


def test_bad_inputs_fail_before_training(tmp_path, style, photos):
    with pytest.raises(VidstyleError, match="image not found"):
        train(_cfg(str(tmp_path / "nope.jpg"), photos), tmp_path / "r", progress=False)
    bad = tmp_path / "bad.jpg"
    bad.write_text("not an image")
    with pytest.raises(VidstyleError, match="cannot read image"):
        train(_cfg(str(bad), photos), tmp_path / "r", progress=False)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(VidstyleError, match="no images"):
        train(_cfg(style, str(empty)), tmp_path / "r", progress=False)
    with pytest.raises(VidstyleError, match="does not exist"):
        train(_cfg(style, photos), tmp_path / "missing" / "r", progress=False)
    assert not (tmp_path / "r" / MODEL).exists()


def test_photos_smaller_than_crop_refused(tmp_path, style):
    from PIL import Image

    small = tmp_path / "small"
    small.mkdir()
    Image.new("RGB", (20, 20), (100, 50, 30)).save(small / "a.png")
    with pytest.raises(VidstyleError, match=r"a.png is 20x20, smaller than the 32x32"):
        train(_cfg(style, str(small), steps=1), tmp_path / "r", device="cpu", progress=False)
    assert not (tmp_path / "r").exists()


def test_clip_with_fewer_than_two_frames_refused(tmp_path, style):
    from videogen import write_clip

    clip = write_clip(tmp_path / "one.mp4", width=64, height=48, fps=10, n_frames=1).path
    cfg = preset_config("debug", style=style, data=(f"clip:{clip}",))
    with pytest.raises(VidstyleError, match="1 frame"):
        train(cfg, tmp_path / "r", device="cpu", progress=False)
    assert not (tmp_path / "r").exists()


def test_clip_frames_are_scaled_to_hold_the_crop(tmp_path):
    """A 2:1 clip scaled to a long side of 48 is 48x24: a 32x32 crop needs it larger."""
    from videogen import write_clip

    from vidstyle.data.clips import ClipPairs

    clip = write_clip(tmp_path / "wide.mp4", width=96, height=48, fps=10, n_frames=3).path
    pairs = ClipPairs(clip, (32, 32), work_size=48, cache_dir=tmp_path / "cache")
    assert min(pairs.data[0]["cur"].shape[1:3]) >= 32
    item = pairs[0]
    assert item["cur"].shape == (3, 32, 32) and item["flow"].shape == (2, 32, 32)


def test_never_overwrites_a_model_without_flag(tmp_path, style, photos):
    out = tmp_path / "run"
    train(_cfg(style, photos, steps=2), out, device="cpu", progress=False)
    before = (out / MODEL).read_bytes()
    with pytest.raises(VidstyleError, match="--overwrite"):
        train(_cfg(style, photos, steps=2), out, device="cpu", progress=False)
    assert (out / MODEL).read_bytes() == before
    train(_cfg(style, photos, steps=2), out, device="cpu", progress=False, overwrite=True)


def test_resume_with_another_preset_refused(tmp_path, style, photos):
    out = tmp_path / "run"
    train(_cfg(style, photos, steps=2), out, device="cpu", progress=False)
    other = preset_config("huang", style=style, data=(f"photos:{photos}",), steps=4)
    with pytest.raises(CheckpointError, match="preset 'debug', not 'huang'"):
        train(other, out, device="cpu", resume=True, progress=False)


def test_cli_train_and_errors(tmp_path, style, photos, capsys):
    out = tmp_path / "cli"
    rc = main(["train", "--preset", "debug", "--style", style, "--data", f"photos:{photos}",
               "-o", str(out), "--steps", "2", "--device", "cpu", "-q"])
    assert rc == 0 and (out / MODEL).is_file()
    rc = main(["train", "--preset", "debug", "--style", str(tmp_path / "x.jpg"), "--data",
               f"photos:{photos}", "-o", str(tmp_path / "o2"), "-q"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1 and len(err) == 1 and "image not found" in err[0]
    rc = main(["train", "--preset", "nope", "--style", style, "--data", photos, "-o",
               str(tmp_path / "o3"), "-q"])
    assert rc == 1 and "unknown preset" in capsys.readouterr().err


def test_torchrun_two_cpu_processes(tmp_path, style, photos):
    out = tmp_path / "ddp"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2",
           "--standalone", "-m", "vidstyle.cli", "train", "--preset", "debug", "--style",
           style, "--data", f"photos:{photos}", "-o", str(out), "--steps", "3", "--device",
           "cpu", "-q"]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert r.returncode == 0, r.stderr[-2000:]
    # The final model records the SHA-256 of every rank's weights, gathered at the end.
    meta = load_checkpoint(out / MODEL)[1]["meta"]
    assert meta["world_size"] == 2
    sums = meta["rank_weight_sha256"]
    assert len(sums) == 2 and sums[0] == sums[1]
    # Only rank 0 wrote the run folder's files: one model, one log, no stray temp files.
    names = sorted(p.name for p in out.iterdir())
    assert names == [CHECKPOINT, LOG, MODEL, "samples"]
    assert len((out / LOG).read_text().splitlines()) == 1 + 3


def _log_rows(run: Path) -> list[dict[str, str]]:
    import csv

    with open(run / LOG, newline="") as f:
        return list(csv.DictReader(f))


def test_distillation_pulls_the_student_to_its_teacher(tmp_path, style, photos):
    from dataclasses import replace

    from vidstyle.models import ReCoNet, save_checkpoint
    from vidstyle.training import loop

    # A teacher whose output is far from an untrained student's grey: a strong colour cast.
    net = ReCoNet(preset_config("debug").model)
    with torch.no_grad():
        net.decoder[-1][-1].bias.copy_(torch.tensor([2.0, -2.0, 1.0]))
    teacher = tmp_path / "teacher.pt"
    save_checkpoint(teacher, net)
    cfg = _cfg(style, photos, steps=40, lr=3e-3, teacher=str(teacher), sample_every=1000,
               checkpoint_every=1000)
    cfg = replace(cfg, weights=replace(cfg.weights, content=0.0, style=0.0, tv=0.0, temporal_feature=0.0,
                                       temporal_output=0.0, distill=100.0))
    losses = loop.Losses(cfg, torch.rand(1, 3, 32, 32))
    assert not losses.perceptual and not hasattr(losses, "vgg")  # pure distillation skips VGG
    train(cfg, tmp_path / "student", device="cpu", progress=False)
    rows = _log_rows(tmp_path / "student")
    distill = [float(r["distill"]) for r in rows]
    assert float(rows[0]["style"]) == 0 and float(rows[0]["content"]) == 0
    assert sum(distill[-5:]) < 0.3 * sum(distill[:5])
    meta = load_checkpoint(tmp_path / "student" / MODEL)[1]["meta"]
    assert meta["train_config"]["teacher"] == str(teacher)
    assert meta["train_config"]["weights"]["distill"] == 100.0


def test_distillation_needs_a_teacher(tmp_path, style, photos):
    from dataclasses import replace

    cfg = _cfg(style, photos)
    with pytest.raises(VidstyleError, match="needs a teacher"):
        train(replace(cfg, weights=replace(cfg.weights, distill=1.0)), tmp_path / "r", progress=False)
    cfg = replace(cfg, teacher=str(tmp_path / "none.pt"), weights=replace(cfg.weights, distill=1.0))
    with pytest.raises(VidstyleError, match="model file not found"):
        train(cfg, tmp_path / "r", progress=False)
    assert not (tmp_path / "r").exists()


def test_resume_keeps_the_columns_of_an_older_log(tmp_path, style, photos):
    out = tmp_path / "run"
    train(_cfg(style, photos, steps=2), out, device="cpu", progress=False)
    lines = (out / LOG).read_text().splitlines()  # rewrite as a log without the distill column
    header = lines[0].split(",")
    k = header.index("distill")
    (out / LOG).write_text("\n".join(",".join(c for i, c in enumerate(line.split(",")) if i != k)
                                     for line in lines) + "\n")
    train(_cfg(style, photos, steps=4), out, device="cpu", resume=True, progress=False)
    rows = (out / LOG).read_text().splitlines()
    assert "distill" not in rows[0] and len(rows) == 5
    assert {len(r.split(",")) for r in rows} == {len(header) - 1}


def test_cli_train_model_size_and_teacher(tmp_path, style, photos, capsys):
    out = tmp_path / "lite"
    rc = main(["train", "--preset", "debug", "--model-size", "lite", "--style", style, "--data",
               f"photos:{photos}", "-o", str(out), "--steps", "1", "--device", "cpu", "-q"])
    assert rc == 0
    from vidstyle.models import MODEL_SIZES

    assert load_checkpoint(out / MODEL)[0].config == MODEL_SIZES["lite"]
    rc = main(["train", "--preset", "debug", "--teacher", str(out / MODEL), "--style", style,
               "--data", f"photos:{photos}", "-o", str(tmp_path / "x"), "-q"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1 and len(err) == 1 and "--distill" in err[0]
