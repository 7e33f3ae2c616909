"""What users tune in training: warm starts (--init), time budgets (--minutes), loss
weights, the style scale, the validation style distance, and logs that survive a resume."""

from __future__ import annotations

import csv
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from vidstyle.cli import main
from vidstyle.errors import VidstyleError
from vidstyle.models import ReCoNet, load_checkpoint, save_checkpoint
from vidstyle.training import LossWeights, TrainConfig, preset_config
from vidstyle.training.loop import CHECKPOINT, LOG, MODEL, train
from vidstyle.training.setup import can_grow, load_grown


def _cfg(style, photos, **kw):
    return preset_config("debug", style=style, data=(f"photos:{photos}",), **kw)


def _rows(run: Path) -> list[dict[str, str]]:
    with open(run / LOG, newline="") as f:
        return list(csv.DictReader(f))


def _init_model(tmp_path: Path, config=None) -> Path:
    torch.manual_seed(123)
    net = ReCoNet(config or preset_config("debug").model)
    path = tmp_path / "init.pt"
    save_checkpoint(path, net)
    return path


def test_scaled_weights_keep_the_temporal_ratio():
    w = LossWeights(temporal_feature=50.0, temporal_output=5000.0)
    s = w.scaled(style=3e-5, temporal=25000.0)
    assert s.style == 3e-5 and s.content == w.content and s.tv == w.tv
    assert s.temporal_output == 25000.0 and s.temporal_feature == pytest.approx(250.0)
    assert w.scaled() == w
    # A preset without temporal terms gets only the output term.
    assert LossWeights().scaled(temporal=10.0).temporal_feature == 0.0


def test_init_starts_from_the_given_weights(tmp_path, style, photos):
    init = _init_model(tmp_path)
    # Zero learning rate: the run must end exactly where it started, at the init weights.
    train(_cfg(style, photos, steps=2, init=str(init), lr=0.0, lr_final=0.0), tmp_path / "run",
          device="cpu", progress=False)
    a = load_checkpoint(init)[0].state_dict()
    b = load_checkpoint(tmp_path / "run" / MODEL)[0].state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    # Without init the same run starts elsewhere.
    train(_cfg(style, photos, steps=2, lr=0.0, lr_final=0.0), tmp_path / "scratch", device="cpu",
          progress=False)
    c = load_checkpoint(tmp_path / "scratch" / MODEL)[0].state_dict()
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_init_with_another_network_is_refused_before_writing(tmp_path, style, photos):
    init = _init_model(tmp_path, replace(preset_config("debug").model, widths=(8, 16, 24)))
    with pytest.raises(VidstyleError, match="different network"):
        train(_cfg(style, photos, init=str(init)), tmp_path / "run", device="cpu", progress=False)
    with pytest.raises(VidstyleError, match="not found"):
        train(_cfg(style, photos, init=str(tmp_path / "missing.pt")), tmp_path / "run",
              device="cpu", progress=False)
    assert not (tmp_path / "run").exists()


def test_minutes_budget_ends_the_run_and_spans_the_schedule(tmp_path, style, photos, monkeypatch):
    import vidstyle.training.loop as loop

    clock = {"t": 0.0}

    def fake_clock() -> float:  # every reading of the clock advances it by 0.25 s
        clock["t"] += 0.25
        return clock["t"]

    monkeypatch.setattr(loop.time, "perf_counter", fake_clock)
    out = tmp_path / "run"
    cfg = _cfg(style, photos, minutes=0.05, steps=1, lr=1e-3, lr_final=1e-5, log_every=1)
    train(cfg, out, device="cpu", progress=False)
    rows = _rows(out)
    steps = [int(r["step"]) for r in rows]
    assert steps[-1] > 1  # ``steps`` does not stop a time-budgeted run
    assert float(rows[-1]["seconds"]) >= 3.0  # ... the budget (0.05 min) does
    assert float(rows[-2]["seconds"]) < 3.0  # ... at the first step past it
    lrs = [float(r["lr"]) for r in rows]
    assert lrs[0] > lrs[-1] and lrs == sorted(lrs, reverse=True)
    meta = load_checkpoint(out / MODEL)[1]["meta"]
    assert meta["steps"] == steps[-1] and meta["train_config"]["minutes"] == 0.05


def test_validation_style_distance_is_logged(tmp_path, style, photos):
    out = tmp_path / "run"
    train(_cfg(style, photos, steps=4, val_every=2, snapshot_every=3), out, device="cpu",
          progress=False)
    snaps = sorted(p.name for p in (out / "snapshots").iterdir())
    assert snaps == ["step_000003.pt"]
    model, ckpt = load_checkpoint(out / "snapshots" / snaps[0])
    assert ckpt["meta"]["steps"] == 3 and "train_state" not in ckpt
    vals = {int(r["step"]): r["val_style"] for r in _rows(out)}
    assert vals[1] == "" and vals[3] == ""
    assert 0.0 < float(vals[2]) < 5.0 and 0.0 < float(vals[4]) < 5.0


def test_resume_drops_log_rows_after_the_checkpoint(tmp_path, style, photos):
    out = tmp_path / "run"
    train(_cfg(style, photos, steps=4, checkpoint_every=2), out, device="cpu", progress=False)
    # Roll the training state back to step 2, as if the run had died after writing rows 3-4.
    ckpt = torch.load(out / CHECKPOINT, weights_only=True)
    assert ckpt["train_state"]["step"] == 4
    ckpt["train_state"]["step"] = 2
    torch.save(ckpt, out / CHECKPOINT)
    train(_cfg(style, photos, steps=6), out, device="cpu", resume=True, progress=False)
    assert [int(r["step"]) for r in _rows(out)] == [1, 2, 3, 4, 5, 6]


def test_cli_train_flags_reach_the_config(tmp_path, style, photos):
    init = _init_model(tmp_path)
    out = tmp_path / "run"
    rc = main(["train", "--preset", "debug", "--style", style, "--data", f"photos:{photos}",
               "-o", str(out), "--steps", "2", "--device", "cpu", "-q", "--init", str(init),
               "--content-weight", "2e-4", "--style-weight", "3e-5", "--tv-weight", "0.5",
               "--temporal-weight", "100", "--style-size", "48", "--val-every", "1",
               "--frame-blur", "1.5", "--frame-shading", "0.1", "--frame-jitter", "1",
               "--frame-motion", "1.5", "--frame-layers", "3", "--frame-motion-blur", "0.5",
               "--occlusion-weight", "3", "--frame-deform", "2",
               "--style-layer-weights", "1,2,0.5,8"])
    assert rc == 0
    tc = load_checkpoint(out / MODEL)[1]["meta"]["train_config"]
    w = tc["weights"]
    assert (w["content"], w["style"], w["tv"], w["temporal_output"]) == (2e-4, 3e-5, 0.5, 100.0)
    assert w["temporal_feature"] == pytest.approx(1.0)  # the reconet ratio 50:5000
    assert w["occlusion"] == 3.0
    assert tuple(w["style_layers"]) == (1.0, 2.0, 0.5, 8.0)
    assert TrainConfig.from_dict(tc).weights.style_layers == (1.0, 2.0, 0.5, 8.0)
    assert tc["style_size"] == 48 and tc["init"] == str(init) and tc["val_every"] == 1
    assert (tc["frame_blur"], tc["frame_shading"], tc["frame_jitter"]) == (1.5, 0.1, 1.0)
    assert (tc["frame_motion"], tc["frame_layers"], tc["frame_motion_blur"]) == (1.5, 3, 0.5)
    assert tc["frame_deform"] == 2.0


def test_cli_init_refuses_architecture_flags(tmp_path, style, photos, capsys):
    init = _init_model(tmp_path)
    rc = main(["train", "--preset", "debug", "--style", style, "--data", f"photos:{photos}",
               "-o", str(tmp_path / "r"), "--init", str(init), "--model-size", "lite"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1 and len(err) == 1 and "--init" in err[0]
    with pytest.raises(SystemExit) as e:  # argparse: usage and the reason, exit 2
        main(["train", "--preset", "debug", "--style", style, "--data", f"photos:{photos}",
              "-o", str(tmp_path / "r"), "--minutes", "0"])
    assert e.value.code == 2 and "must be a finite number > 0" in capsys.readouterr().err


def test_cli_refuses_bad_style_layer_weights(tmp_path, style, photos, capsys):
    for bad, why in [("1,2,3", "give 4 comma-separated weights"), ("1,x,1,1", "finite numbers >= 0"),
                     ("0,0,0,0", "at least one weight must be > 0"), ("1,-1,1,1", "finite numbers >= 0")]:
        with pytest.raises(SystemExit) as e:
            main(["train", "--preset", "debug", "--style", style, "--data", f"photos:{photos}",
                  "-o", str(tmp_path / "r"), "--style-layer-weights", bad])
        assert e.value.code == 2 and why in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_cli_refuses_a_temporal_weight_without_a_temporal_loss(tmp_path, style, photos, capsys):
    """--temporal-weight would silently turn a per-frame run into a temporal one."""
    rc = main(["train", "--preset", "per-frame", "--style", style, "--data", f"photos:{photos}",
               "-o", str(tmp_path / "r"), "--steps", "1", "--temporal-weight", "100"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1 and len(err) == 1 and "per-frame preset has no temporal loss" in err[0]
    assert not (tmp_path / "r").exists()
    rc = main(["train", "--preset", "per-frame", "--style", style, "--data", f"photos:{photos}",
               "-o", str(tmp_path / "r"), "--steps", "1", "--occlusion-weight", "3"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1 and len(err) == 1 and "drop --occlusion-weight" in err[0]
    assert not (tmp_path / "r").exists()


def test_the_presets_defaults_are_the_recipe():
    """docs/recipe.md: 256 crops, batch 1, style at 384 px, style 3e-4, temporal x10."""
    for preset in ("per-frame", "huang", "reconet"):
        cfg = preset_config(preset)
        assert (cfg.size, cfg.batch_size, cfg.style_size, cfg.lr) == (256, 1, 384, 1e-3)
        assert cfg.weights.style == 3e-4 and cfg.weights.content == 1e-4 and cfg.init == ""
    assert preset_config("per-frame").weights.temporal_output == 0.0
    assert preset_config("huang").weights.temporal_output == 50000.0
    reconet = preset_config("reconet").weights
    assert (reconet.temporal_output, reconet.temporal_feature) == (50000.0, 500.0)
    assert preset_config("debug").size == 32  # the tests' preset keeps its tiny run


@pytest.mark.parametrize("flags, init, size", [
    ([], "candy", "full"),
    (["--model-size", "lite"], "candy-lite", "lite"),
    (["--init", "none"], "", "preset"),  # the paper's widths (48 96 192)
    (["--init", "none", "--model-size", "lite"], "", "lite"),
    (["--widths", "8", "16", "32"], "", None),
])
def test_cli_train_starts_from_the_bundled_candy_of_its_size(monkeypatch, tmp_path, style, photos,
                                                             flags, init, size):
    from vidstyle.models.reconet import model_size_config
    from vidstyle.pretrained import resolve_model

    seen = {}

    def fake_train(cfg, output, **kw):
        seen["cfg"] = cfg
        return Path(output) / MODEL

    monkeypatch.setattr("vidstyle.training.loop.train", fake_train)
    rc = main(["train", "--style", style, "--data", f"photos:{photos}", "-o", str(tmp_path / "r"),
               *flags])
    cfg = seen["cfg"]
    assert rc == 0 and cfg.preset == "reconet" and cfg.size == 256
    assert cfg.init == init
    if init:
        assert resolve_model(init).is_file()
    if size == "preset":
        assert cfg.model == preset_config("reconet").model
    elif size:
        assert cfg.model == model_size_config(size)
    else:
        assert cfg.model.widths == (8, 16, 32) and not cfg.init


def test_a_grown_network_starts_as_its_init_model():
    """--init with more --res-blocks: the added blocks start as the identity."""
    torch.manual_seed(5)
    small_cfg = preset_config("debug").model
    small = ReCoNet(small_cfg).eval()
    big = ReCoNet(replace(small_cfg, res_blocks=small_cfg.res_blocks + 2)).eval()
    load_grown(big, small)
    x = torch.rand(1, 3, 40, 48)
    with torch.no_grad():
        torch.testing.assert_close(big(x), small(x))
    assert can_grow(small_cfg, big.config) and not can_grow(big.config, small_cfg)
    assert not can_grow(small_cfg, replace(small_cfg, res_blocks=3, widths=(4, 8, 16)))


def test_another_output_activation_starts_from_the_init_models_picture():
    """--output-activation with --init rescales the last convolution: sigmoid and tanh give
    the same image, the clamp the same at mid-grey with the sigmoid's slope there."""
    torch.manual_seed(6)
    cfg = preset_config("debug").model
    sig = ReCoNet(cfg).eval()
    with torch.no_grad():  # logits near 0, where the clamp follows the sigmoid closely
        sig.output_conv.weight.mul_(1e-2)
        sig.output_conv.bias.fill_(0.05)
    x = torch.rand(1, 3, 40, 48)
    nets = {}
    for output in ("tanh", "clamp"):
        assert can_grow(cfg, replace(cfg, output=output))
        nets[output] = ReCoNet(replace(cfg, output=output)).eval()
        load_grown(nets[output], sig)
    back = ReCoNet(cfg).eval()
    load_grown(back, nets["clamp"])  # and back again: the inverse rescaling
    with torch.no_grad():
        ref = sig(x)
        torch.testing.assert_close(nets["tanh"](x), ref)
        torch.testing.assert_close(back(x), ref)
        err = (nets["clamp"](x) - ref).abs().max().item()
    assert 0.0 < err < 1e-3  # a first-order match, not an exact one
    assert not can_grow(cfg, replace(cfg, output="clamp", widths=(4, 8, 16)))


def test_cli_output_activation_reaches_the_model(tmp_path, style, photos):
    init = _init_model(tmp_path)
    out = tmp_path / "run"
    rc = main(["train", "--preset", "debug", "--style", style, "--data", f"photos:{photos}",
               "-o", str(out), "--steps", "1", "--device", "cpu", "-q", "--init", str(init),
               "--output-activation", "clamp"])
    assert rc == 0
    model, ckpt = load_checkpoint(out / MODEL)
    assert model.config.output == "clamp" and ckpt["model_config"]["output"] == "clamp"
    with torch.no_grad():
        y = model(torch.rand(1, 3, 36, 44))
    assert y.min() >= 0.0 and y.max() <= 1.0  # clamped for use


def test_a_run_from_a_model_with_a_contrast_setting_trains_its_full_contrast(tmp_path, style, photos):
    """The contrast of an exported model is not trained: --init from one starts the run's
    network at contrast 1 with the same weights."""
    from vidstyle.models.reconet import with_contrast

    low = with_contrast(load_checkpoint(_init_model(tmp_path))[0], 0.8, (0.3, 0.3, 0.3))
    save_checkpoint(tmp_path / "low.pt", low)
    out = tmp_path / "run"
    assert main(["train", "--preset", "debug", "--style", style, "--data", f"photos:{photos}",
                 "-o", str(out), "--steps", "1", "--device", "cpu", "-q",
                 "--init", str(tmp_path / "low.pt")]) == 0
    cfg = load_checkpoint(out / MODEL)[0].config
    assert cfg.contrast == 1.0 and cfg.pivot == (0.5, 0.5, 0.5)
    assert cfg.widths == low.config.widths


def test_cli_init_grows_the_network_with_res_blocks(tmp_path, style, photos, capsys):
    init = _init_model(tmp_path)
    blocks = preset_config("debug").model.res_blocks
    out = tmp_path / "run"
    rc = main(["train", "--preset", "debug", "--style", style, "--data", f"photos:{photos}",
               "-o", str(out), "--steps", "1", "--device", "cpu", "-q", "--init", str(init),
               "--res-blocks", str(blocks + 1)])
    assert rc == 0
    assert load_checkpoint(out / MODEL)[0].config.res_blocks == blocks + 1
    rc = main(["train", "--preset", "debug", "--style", style, "--data", f"photos:{photos}",
               "-o", str(tmp_path / "r2"), "--steps", "1", "--device", "cpu", "-q",
               "--init", str(out / MODEL), "--res-blocks", str(blocks)])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1 and len(err) == 1 and "different network" in err[-1]


def test_fit_norm_trains_only_the_instance_norms_and_resumes(tmp_path, style, photos, capsys):
    init = _init_model(tmp_path)
    out = tmp_path / "run"
    argv = ["train", "--preset", "debug", "--style", style, "--data", f"photos:{photos}",
            "-o", str(out), "--device", "cpu", "-q", "--init", str(init), "--fit", "norm",
            "--checkpoint-every", "1"]
    assert main(argv + ["--steps", "2"]) == 0
    net = load_checkpoint(init)[0]
    norm = {f"{name}.{p}" for name, m in net.named_modules()
            if isinstance(m, torch.nn.InstanceNorm2d) for p in ("weight", "bias")}
    a = net.state_dict()
    b, ckpt = load_checkpoint(out / MODEL)
    b = b.state_dict()
    assert norm and ckpt["meta"]["train_config"]["fit"] == "norm"
    assert all(torch.equal(a[k], b[k]) for k in a if k not in norm)  # the rest frozen
    assert any(not torch.equal(a[k], b[k]) for k in norm)  # the norms trained
    # A resumed run keeps fitting the norms only (its optimizer holds just those).
    assert main(argv + ["--steps", "3", "--resume"]) == 0
    c = load_checkpoint(out / MODEL)[0].state_dict()
    assert all(torch.equal(a[k], c[k]) for k in a if k not in norm)
    assert any(not torch.equal(b[k], c[k]) for k in norm)
    # Without a trained network there is nothing to refit.
    capsys.readouterr()
    rc = main(["train", "--preset", "debug", "--style", style, "--data", f"photos:{photos}",
               "-o", str(tmp_path / "r2"), "--steps", "1", "--device", "cpu", "-q", "--fit", "norm"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1 and len(err) == 1 and "--fit norm" in err[-1]
    assert not (tmp_path / "r2").exists()
