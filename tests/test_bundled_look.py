"""Each bundled model keeps the look it was released with (tests/lookpin.py)."""

from __future__ import annotations

import json

import pytest
from lookpin import GOLDEN, measure

from vidstyle.pretrained import bundled_models

TOLERANCE = 0.05  # relative drift allowed

MODELS = sorted(bundled_models().items())


def test_every_bundled_model_is_pinned():
    golden = json.loads(GOLDEN.read_text())
    assert sorted(golden) == sorted(f"{s}.{m}" for (s, m), _ in MODELS), (
        "bundled models and tests/golden/bundled_look.json disagree: run python tests/lookpin.py")


@pytest.mark.data  # the style distance is to each model's own painting in the shared data
@pytest.mark.parametrize("key,path", [(f"{s}.{m}", p) for (s, m), p in MODELS],
                         ids=[f"{s}.{m}" for (s, m), _ in MODELS])
def test_bundled_model_look_has_not_drifted(key, path, shared_data):
    pinned = json.loads(GOLDEN.read_text())[key]
    got = measure(path)
    for name in ("style", "e_stab"):
        assert got[name] == pytest.approx(pinned[name], rel=TOLERANCE), (
            f"{key}: {name} {got[name]:.4f} vs pinned {pinned[name]:.4f}; if the model was "
            "retrained on purpose, run python tests/lookpin.py")
