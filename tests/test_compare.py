"""`vidstyle evaluate` without a folder: all methods on a 2-pair Sintel scene and a clip
(generated: a Sintel-layout tree with exact flow, a clip of a moving pattern, a painting)."""

from __future__ import annotations

import csv

import pytest
from videogen import write_clip

from vidstyle.cli import main
from vidstyle.pretrained import bundled_models


@pytest.mark.skipif(("candy", "per-frame") not in bundled_models(), reason="no bundled candy")
def test_compare_writes_all_outputs(tmp_path, sintel_tree, style, capsys):
    out = tmp_path / "cmp"
    clip = write_clip(tmp_path / "clip.mp4", width=128, height=72, fps=25, n_frames=6).path
    rc = main([
        "evaluate", "--sintel", str(sintel_tree), "--scenes", "layers_2",
        "--style-image", style,
        "--clips", str(clip),
        "--clip-frames", "4", "--max-size", "96", "--ruder-iters", "2", "--ruder-size", "64",
        "--ruder-temporal", "500", "-o", str(out), "-q",
    ])
    assert rc == 0, capsys.readouterr().err
    assert {p.name for p in out.iterdir()} == {
        "results.md", "results.csv", "estab_vs_fps.png", "flicker.png"}
    rows = list(csv.DictReader(open(out / "results.csv")))
    assert [r["method"] for r in rows] == ["per-frame", "huang", "reconet", "chen", "ruder"]
    for r in rows:
        assert float(r["e_stab"]) > 0 and float(r["fps"]) > 0
        assert float(r["style_distance"]) > 0 and float(r["warping_error"]) > 0
    md = (out / "results.md").read_text()
    assert "| ruder |" in md
    assert "ruder: lbfgs, 4 evaluations on a first frame and 2 on later ones, working size 64, " \
           "temporal weight 500" in md


@pytest.mark.parametrize("args,expect", [
    (["--methods", "nope"], "unknown method"),
    (["--sintel", "/no/such/root"], "not found"),
    (["--style-image", "/no/such.jpg", "--sintel", "SINTEL"], "style image not found"),
])
def test_compare_bad_arguments(tmp_path, sintel_tree, style, capsys, args, expect):
    args = [str(sintel_tree) if a == "SINTEL" else a for a in args]
    if "--style-image" not in args:
        args += ["--style-image", style]
    if "--sintel" not in args:
        args += ["--sintel", str(sintel_tree)]
    rc = main(["evaluate", *args, "-o", str(tmp_path / "o"), "-q"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1 and len(err) == 1 and expect in err[0], err
    assert not (tmp_path / "o").exists()
