"""``vidstyle.device`` (one parser of device names) and ``vidstyle.files`` (one file digest)."""

from __future__ import annotations

import hashlib

import pytest
import torch

from vidstyle.device import check_device, resolve_device, runs_on_cpu
from vidstyle.errors import VidstyleError
from vidstyle.files import file_digest


def test_device_names(monkeypatch):
    for name in ("auto", "cpu", "cuda", "cuda:0", "cuda:12"):
        assert check_device(name) == name
    for bad in ("gpu", "cuda:", "cuda:x", "cudax", "CPU", ""):
        with pytest.raises(VidstyleError, match=r"unknown device .*: use auto, cpu or cuda") as e:
            check_device(bad)
        assert e.value.option == "device"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == resolve_device("cpu") == torch.device("cpu")
    assert runs_on_cpu("auto") and runs_on_cpu("cpu") and not runs_on_cpu("cuda:1")
    with pytest.raises(VidstyleError, match="CUDA is not available"):
        resolve_device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == torch.device("cuda") and not runs_on_cpu("auto")


def test_training_reads_the_same_parser():
    from vidstyle.training import loop

    assert loop.resolve_device is resolve_device


def test_file_digest(tmp_path):
    p = tmp_path / "blob.bin"
    data = bytes(range(256)) * 5000  # more than one chunk
    p.write_bytes(data)
    assert file_digest(p) == hashlib.sha256(data).hexdigest()
    assert file_digest(p, "sha1", chunk=1000) == hashlib.sha1(data).hexdigest()
