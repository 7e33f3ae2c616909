"""The parts of ``vidstyle evaluate``'s comparison that need no data: the ground-truth
flow function, the tables and the plots."""

from __future__ import annotations

import csv

import torch

from vidstyle.eval.compare import GroundTruthFlow, MethodResult
from vidstyle.eval.plots import plot_estab_vs_fps, plot_flicker
from vidstyle.eval.tables import write_results_csv, write_results_md


def _pair(seed: int) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {
        "frame1": torch.rand(1, 3, 16, 20, generator=g),
        "frame2": torch.rand(1, 3, 16, 20, generator=g),
        "flow": torch.randn(1, 2, 16, 20, generator=g),
        "mask": (torch.rand(1, 1, 16, 20, generator=g) > 0.5).float(),
    }


def test_ground_truth_flow_answers_each_pair_by_its_frames():
    a, b = _pair(1), _pair(2)
    gt = GroundTruthFlow((a, b))
    for d in (a, b):
        flow, mask = gt(d["frame1"].clone(), d["frame2"].clone())
        assert flow is d["flow"] and mask is d["mask"]
    # Frames it does not know (a clip, or a pair asked the other way round): DIS flow alone.
    other = gt(a["frame2"], a["frame1"])
    assert isinstance(other, torch.Tensor) and other.shape == (1, 2, 16, 20)


def _results() -> dict[str, MethodResult]:
    out = {}
    for k, name in enumerate(("per-frame", "ruder")):
        r = MethodResult(name, style_distance=0.5 + k, content_distance=1.0, warping_error=0.01,
                         seconds=2.0, frames=4, frame_size=(16, 20), flicker=[0.1, 0.2 - 0.1 * k],
                         settings="lbfgs" if name == "ruder" else "")
        # err_t are squared errors: e_stab = sqrt(mean err_t) is 0.04 / 0.09 for per-frame,
        # half of it for ruder
        r.scene_errors["alley_2"] += [(0.04 / (k + 1)) ** 2] * 2
        r.scene_errors["cave_2"] += [(0.09 / (k + 1)) ** 2]
        out[name] = r
    return out


def test_tables_hold_every_method_and_scene(tmp_path):
    results = _results()
    write_results_csv(tmp_path, results, ["alley_2", "cave_2"])
    rows = list(csv.DictReader(open(tmp_path / "results.csv")))
    assert [r["method"] for r in rows] == ["per-frame", "ruder"]
    assert rows[1]["e_stab_alley_2"] == "0.02000" and rows[0]["frame_w"] == "20"
    assert not list(tmp_path.glob(".results.csv*"))
    write_results_md(tmp_path, results, ["alley_2", "cave_2"], style="candy", flow="gt", device="cpu")
    md = (tmp_path / "results.md").read_text()
    assert "| ruder | 0.0200 | 0.0450 |" in md and "0.50x" in md and "ruder: lbfgs." in md
    assert "Sintel frames at 20x16" in md


def test_plots_are_written(tmp_path):
    results = _results()
    plot_estab_vs_fps(tmp_path, results)
    plot_flicker(tmp_path, results, [0.3, 0.3])
    assert (tmp_path / "estab_vs_fps.png").stat().st_size > 0
    assert (tmp_path / "flicker.png").stat().st_size > 0
