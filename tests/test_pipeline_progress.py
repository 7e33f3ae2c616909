"""``stylize_path``'s ``on_progress`` callback: frames done, total and frames per second."""

from __future__ import annotations

import pytest
import torch

from vidstyle.pipeline import stylize_path


class _Identity:
    def reset(self) -> None:
        pass

    def __call__(self, frames: torch.Tensor) -> torch.Tensor:
        return frames.clone()


def test_progress_after_every_batch(frames_dir, tmp_path):
    seen: list[tuple[int, int | None, float]] = []
    report = stylize_path(frames_dir, tmp_path / "out", _Identity(), batch_size=2, progress=False,
                          on_progress=lambda *a: seen.append(a))
    assert [(done, total) for done, total, _ in seen] == [(2, 3), (3, 3)]
    assert all(fps > 0 for _, _, fps in seen)
    assert report.frames == 3 and seen[-1][2] == pytest.approx(report.fps, rel=0.5)
