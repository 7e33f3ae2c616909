"""Shared test fixtures. Real data lives in ../shared/data beside the checkout."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("VIDSTYLE_SHARED_DATA", REPO.parent / "shared" / "data"))

# Keep tests deterministic and light on this 2-core machine.
torch.set_num_threads(min(2, torch.get_num_threads()))


@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory) -> None:
    """Clip-pair and ONNX caches go to a temporary folder, not ~/.cache."""
    os.environ["VIDSTYLE_CACHE"] = str(tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Root of the shared test data (Sintel, clips, photos, styles)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA} (set VIDSTYLE_SHARED_DATA)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def sintel_root(shared_data: Path) -> Path:
    return shared_data / "sintel"


@pytest.fixture(scope="module")
def model_path(tmp_path_factory) -> Path:
    """A tiny untrained ReCoNet checkpoint (widths 8/16/16, one residual block, seed 0)."""
    from vidstyle.models import ReCoNet, ReCoNetConfig, save_checkpoint

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("model") / "tiny.pt"
    save_checkpoint(path, ReCoNet(ReCoNetConfig(widths=(8, 16, 16), res_blocks=1)))
    return path


@pytest.fixture(scope="session")
def photos(shared_data: Path) -> str:
    """A folder of training photos (Kodak crops)."""
    return str(shared_data / "photos" / "kodak24")


@pytest.fixture(scope="session")
def style(shared_data: Path) -> str:
    """A style image path (candy)."""
    return str(shared_data / "styles" / "candy.jpg")


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
