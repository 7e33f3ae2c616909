"""Webcam streaming, with OpenCV's capture replaced by a fake camera."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import vidstyle.video.webcam as webcam
from vidstyle.cli import main
from vidstyle.models import ReCoNetConfig
from vidstyle.video import probe


class FakeCapture:
    """Delivers ``n`` frames of 40x32, then ends (like an unplugged camera)."""

    def __init__(self, index, n=12, opened=True):
        self.index, self.n, self.i, self.opened = index, n, 0, opened

    def isOpened(self):  # noqa: N802 - OpenCV's name
        return self.opened

    def set(self, *a):
        return True

    def get(self, prop):
        return 15.0

    def read(self):
        if self.i >= self.n:
            return False, None
        self.i += 1
        return True, np.full((32, 40, 3), self.i * 10, np.uint8)

    def release(self):
        pass


@pytest.fixture(scope="module")
def model_path(tiny_checkpoint):
    return tiny_checkpoint(ReCoNetConfig(widths=(4, 8, 8), res_blocks=0))


def test_webcam_to_file(tmp_path, model_path, monkeypatch, capsys):
    monkeypatch.setattr(webcam.cv2, "VideoCapture", lambda i: FakeCapture(i))
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    out = tmp_path / "live.mp4"
    rc = main(["stylize", "--webcam", "0", "-s", str(model_path), "-o", str(out), "-q"])
    assert rc == 0, capsys.readouterr().err
    assert probe(out)["frames"] == 12
    assert "stylized 12 webcam frame(s)" in capsys.readouterr().out


def test_missing_webcam_is_one_line(tmp_path, model_path, monkeypatch, capsys):
    monkeypatch.setattr(webcam.cv2, "VideoCapture", lambda i: FakeCapture(i, opened=False))
    rc = main(["stylize", "--webcam", "7", "-s", str(model_path), "-o", str(tmp_path / "x.mp4")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1 and len(err) == 1 and "cannot open webcam 7" in err[0]
    assert not (tmp_path / "x.mp4").exists()


def test_keys_switch_style_and_quit():
    class Source:
        def frames(self):
            for i in range(10):
                yield np.zeros((8, 8, 3), np.uint8), i / 10

    class Preview:
        def __init__(self):
            self.keys = iter([[], ["2"], [], ["n"], ["q"]])
            self.captions = []

        def show(self, rgb, caption):
            self.captions.append(caption.split(" (")[0])
            return next(self.keys)

    used = []

    def make(name):
        def stylize(x):
            used.append(name)
            return torch.zeros_like(x)
        stylize.reset = lambda: used.append(f"reset {name}")
        return stylize

    preview = Preview()
    n = webcam.run_live(Source(), [("a", make("a")), ("b", make("b"))], preview=preview)
    assert n == 5
    assert used == ["a", "a", "reset b", "b", "b", "reset a", "a"]
