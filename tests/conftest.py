"""Shared test fixtures and helpers.

The suite runs on generated data (tests/gendata.py, tests/videogen.py). Only the tests
marked ``data`` need the real files (Sintel frames, paintings): they read
``../shared/data`` beside the checkout, or the folder ``VIDSTYLE_SHARED_DATA`` names,
and skip, saying so, when it is missing.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from gendata import painting, save, write_photos, write_sintel
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("VIDSTYLE_SHARED_DATA", REPO.parent / "shared" / "data"))

# Keep tests deterministic and light on this 2-core machine.
torch.set_num_threads(min(2, torch.get_num_threads()))


@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory) -> None:
    """Clip-pair and ONNX caches go to a temporary folder, not ~/.cache."""
    os.environ["VIDSTYLE_CACHE"] = str(tmp_path_factory.mktemp("cache"))


# ----------------------------------------------------------------------------- shared data

DATA_FIXTURES = {"shared_data", "sintel_root"}


def pytest_collection_modifyitems(config, items) -> None:
    """A test that reads the shared data must say so with the ``data`` marker."""
    unmarked = [item.nodeid for item in items
                if DATA_FIXTURES & set(getattr(item, "fixturenames", ()))
                and item.get_closest_marker("data") is None]
    if unmarked:
        raise pytest.UsageError("tests using the shared data lack @pytest.mark.data: "
                                + ", ".join(unmarked))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Root of the shared test data (Sintel, clips, photos, paintings); tests marked ``data``."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"needs the shared test data (Sintel, paintings), not found at {SHARED_DATA}: "
                    "set VIDSTYLE_SHARED_DATA=/path/to/data to run it")
    return SHARED_DATA


@pytest.fixture(scope="session")
def sintel_root(shared_data: Path) -> Path:
    """The real MPI Sintel subset of the shared data."""
    return shared_data / "sintel"


# ----------------------------------------------------------------------------- generated data


@pytest.fixture(scope="session")
def generated(tmp_path_factory) -> Path:
    """A session folder for generated data."""
    return tmp_path_factory.mktemp("generated")


@pytest.fixture(scope="session")
def photos(generated: Path) -> str:
    """A folder of four generated 128x96 training photos."""
    return str(write_photos(generated / "photos"))


@pytest.fixture(scope="session")
def style(generated: Path) -> str:
    """A style image path: a generated 128x128 painting."""
    return str(save(generated / "painting.png", painting()))


@pytest.fixture(scope="session")
def sintel_tree(generated: Path) -> Path:
    """A generated Sintel-layout root with exact flow (scenes pan_1, layers_2; gendata.write_sintel)."""
    return write_sintel(generated / "sintel")


# ----------------------------------------------------------------------------- models


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> Callable[..., Path]:
    """``tiny_checkpoint(config=None, *, seed=0, meta=None) -> Path``: a new untrained
    ReCoNet checkpoint in a folder of its own. The default network has widths 8/16/16
    and one residual block."""
    from vidstyle.models import ReCoNet, ReCoNetConfig, save_checkpoint

    def make(config: ReCoNetConfig | None = None, *, seed: int = 0,
             meta: dict | None = None) -> Path:
        torch.manual_seed(seed)
        path = tmp_path_factory.mktemp("model") / "tiny.pt"
        save_checkpoint(path, ReCoNet(config or ReCoNetConfig(widths=(8, 16, 16), res_blocks=1)),
                        meta=meta)
        return path

    return make


@pytest.fixture(scope="module")
def model_path(tiny_checkpoint) -> Path:
    """A tiny untrained ReCoNet checkpoint (widths 8/16/16, one residual block, seed 0)."""
    return tiny_checkpoint()


# ----------------------------------------------------------------------------- helpers


@pytest.fixture()
def one_error_line(capsys) -> Callable[[], str]:
    """``one_error_line()``: the one line a failed command printed to stderr since the
    last read of ``capsys``; it must be ``vidstyle: error: ...``."""

    def read() -> str:
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1, err
        assert err[0].startswith("vidstyle: error: ")
        return err[0]

    return read


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


@pytest.fixture()
def frames_dir(tmp_path) -> Path:
    """A folder of three random 33x21 PNG frames, f_000.png ... f_002.png."""
    d = tmp_path / "frames"
    d.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        Image.fromarray(rng.integers(0, 255, (21, 33, 3), dtype=np.uint8)).save(d / f"f_{i:03d}.png")
    return d
