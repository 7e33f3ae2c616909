"""Shared test fixtures. Real data lives in ../shared/data beside the checkout."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

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


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)
