"""`vidstyle evaluate` without a folder: all methods on a 2-pair Sintel scene and a clip."""

from __future__ import annotations

import csv

import pytest

from vidstyle.cli import main
from vidstyle.pretrained import bundled_models


@pytest.mark.skipif(("candy", "per-frame") not in bundled_models(), reason="no bundled candy")
def test_compare_writes_all_outputs(tmp_path, shared_data, capsys):
    out = tmp_path / "cmp"
    rc = main([
        "evaluate", "--sintel", str(shared_data / "sintel"), "--scenes", "cave_2",
        "--style-image", str(shared_data / "styles" / "candy.jpg"),
        "--clips", str(shared_data / "videos" / "chaplin_silent_film_10s_640x360.mp4"),
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
def test_compare_bad_arguments(tmp_path, shared_data, capsys, args, expect):
    args = [str(shared_data / "sintel") if a == "SINTEL" else a for a in args]
    if "--style-image" not in args:
        args += ["--style-image", str(shared_data / "styles" / "candy.jpg")]
    if "--sintel" not in args:
        args += ["--sintel", str(shared_data / "sintel")]
    rc = main(["evaluate", *args, "-o", str(tmp_path / "o"), "-q"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1 and len(err) == 1 and expect in err[0], err
    assert not (tmp_path / "o").exists()
