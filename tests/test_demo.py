"""`vidstyle demo`, the README's main job, on the bundled clip and models."""

from __future__ import annotations

import pytest

from vidstyle.cli import main
from vidstyle.demo import demo_clip
from vidstyle.pretrained import bundled_models, bundled_styles
from vidstyle.video import probe


def test_bundled_assets_present():
    assert demo_clip().is_file()
    models = bundled_models()
    for style in ("candy", "mosaic", "starry_night", "great_wave"):
        assert (style, "reconet") in models
    assert ("candy", "per-frame") in models and ("candy", "huang") in models
    assert "candy" in bundled_styles()


def test_styles_command_lists_them(capsys):
    assert main(["styles"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(line.startswith("candy") and "per-frame" in line and "huang" in line
               for line in lines)


def test_demo_writes_videos_strip_and_metrics(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "-o", str(out), "--device", "cpu"]) == 0
    text = capsys.readouterr().out
    src = probe(demo_clip())
    for name in ("demo.candy.mp4", "demo.side_by_side.mp4"):
        p = probe(out / name)
        assert p["frames"] == src["frames"]
        assert p["duration"] == pytest.approx(src["duration"], abs=1 / src["fps"])
    assert probe(out / "demo.side_by_side.mp4")["width"] == 3 * src["width"]
    assert (out / "demo.strip.png").is_file()
    vals = {}
    for line in text.splitlines():
        key, _, value = line.rpartition(" ")
        vals[key.strip()] = value
    # ReCoNet flickers less than the per-frame network on the same clip.
    assert float(vals["reconet warping error"]) < float(vals["per-frame warping error"])
    # A second run refuses to overwrite.
    assert main(["demo", "-o", str(out)]) == 1
    assert "--overwrite" in capsys.readouterr().err
