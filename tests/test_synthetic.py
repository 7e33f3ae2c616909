"""The synthetic pair generator's photometric changes between the two frames."""

from __future__ import annotations

import cv2
import numpy as np

from tests.gendata import photo
from vidstyle.data.synthetic import MotionConfig, make_pair

SIZE = (64, 96)


def _pair(motion: MotionConfig, seed: int = 3) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    layers = [photo(11, *SIZE), photo(12, *SIZE)]
    return make_pair(photo(10, 96, 144), layers, SIZE, rng, motion)


def _detail(img: np.ndarray) -> float:
    """Mean absolute difference of horizontal neighbours: falls when a frame is blurred."""
    return float(np.abs(np.diff(img, axis=1)).mean())


def test_blur_and_shading_leave_the_geometry_alone():
    plain = _pair(MotionConfig())
    changed = _pair(MotionConfig(blur=2.0, shading=0.2))
    np.testing.assert_array_equal(plain["flow"], changed["flow"])
    np.testing.assert_array_equal(plain["mask"], changed["mask"])
    assert not np.allclose(plain["cur"], changed["cur"], atol=0.02)
    for k in ("prev", "cur"):
        assert changed[k].dtype == np.float32 and 0 <= changed[k].min() and changed[k].max() <= 1


def test_shading_is_a_smooth_gain_on_the_current_frame_only():
    plain = _pair(MotionConfig(noise=0.0))
    shaded = _pair(MotionConfig(noise=0.0, shading=0.2))
    np.testing.assert_array_equal(plain["prev"], shaded["prev"])
    ok = (plain["cur"] > 0.05) & (plain["cur"] < 0.8)  # neither near 0 nor clipped at 1
    gain = shaded["cur"][ok] / plain["cur"][ok]
    assert gain.min() >= 0.8 - 1e-4 and gain.max() <= 1.2 + 1e-4
    assert gain.std() > 0.01  # it is a field, not one number


def test_blur_softens_each_frame_by_its_own_amount():
    """Each frame draws its own sigma in [0, blur]: softer than without blur, and the two
    frames of a pair by different amounts (the change the temporal loss should see)."""
    for seed in range(4):
        plain = _pair(MotionConfig(noise=0.0), seed)
        blurred = _pair(MotionConfig(noise=0.0, blur=3.0), seed)
        ratios = [_detail(blurred[k]) / _detail(plain[k]) for k in ("prev", "cur")]
        assert max(ratios) < 0.9, (seed, ratios)
        if seed > 0:
            assert abs(ratios[0] - ratios[1]) > 0.05, (seed, ratios)


def test_jitter_shifts_the_current_frame_by_at_most_its_amount_and_the_flow_omits_it():
    """The current frame is resampled along a smooth field of up to ``jitter`` px; the
    flow and mask stay those of the motion, so the temporal loss sees a misalignment."""
    def pair(jitter: float) -> dict[str, np.ndarray]:
        layers = [photo(11, *SIZE), photo(12, *SIZE)]
        return make_pair(photo(10, 96, 144), layers, SIZE, np.random.default_rng(5),
                         MotionConfig(jitter=jitter), photometric=False)

    plain, moved = pair(0.0), pair(1.5)
    np.testing.assert_array_equal(plain["prev"], moved["prev"])
    np.testing.assert_array_equal(plain["flow"], moved["flow"])
    np.testing.assert_array_equal(plain["mask"], moved["mask"])
    assert np.abs(moved["cur"] - plain["cur"]).mean() > 0.005
    # Every pixel is a bilinear mix of plain pixels at most 2 px away (reflected at the border).
    kernel = np.ones((5, 5), np.uint8)
    hi = cv2.dilate(plain["cur"], kernel, borderType=cv2.BORDER_REFLECT)
    lo = cv2.erode(plain["cur"], kernel, borderType=cv2.BORDER_REFLECT)
    assert (moved["cur"] <= hi + 1e-5).all() and (moved["cur"] >= lo - 1e-5).all()


def test_moving_scales_the_motion_and_adds_occluders():
    """MotionConfig.moving: the default is unchanged; a larger scale moves the pixels
    further and more layers hide more of the previous frame."""
    base = MotionConfig()
    assert base.moving() == base and base.moving(1.0, 2) == base
    big = base.moving(2.0, 4)
    assert big.layers == (1, 4) and big.max_shift == 2 * base.max_shift
    assert big.layer_shift == 2 * base.layer_shift and big.blur == base.blur
    flow, valid = [], []
    for m in (base, big):
        pairs = [_pair(m, seed) for seed in range(6)]
        flow.append(np.mean([np.abs(p["flow"]).mean() for p in pairs]))
        valid.append(np.mean([p["mask"].mean() for p in pairs]))
    assert flow[1] > 1.5 * flow[0] and valid[1] < valid[0]


def _pan(motion_blur: float, seed: int, layers: bool = False) -> dict[str, np.ndarray]:
    """A pair whose camera only translates (by up to 12 px along each axis)."""
    m = MotionConfig(max_shift=0.2, max_rotate_deg=0.0, max_zoom=0.0, max_perspective=0.0,
                     noise=0.0, motion_blur=motion_blur)
    rng = np.random.default_rng(seed)
    srcs = [photo(11, *SIZE), photo(12, *SIZE)] if layers else []
    return make_pair(photo(10, 96, 144), srcs, SIZE, rng, m, photometric=False)


def test_motion_blur_streaks_each_frame_along_its_motion_and_keeps_the_geometry():
    """The blur runs along the motion: detail along the pan falls more than across it; the
    two frames get their own streak lengths; flow and mask are those of the sharp pair."""
    def detail(img: np.ndarray, d: np.ndarray) -> float:
        gy, gx = np.gradient(img.mean(-1))
        return float(np.abs(gx * d[0] + gy * d[1]).mean())

    gaps = []  # how much more detail a streaked frame loses along the pan than across it
    for seed in range(6):
        plain, streaked = _pan(0.0, seed), _pan(1.0, seed)
        np.testing.assert_array_equal(plain["flow"], streaked["flow"])
        np.testing.assert_array_equal(plain["mask"], streaked["mask"])
        f = plain["flow"].reshape(-1, 2).mean(0)
        assert np.linalg.norm(f) > 2 and np.allclose(plain["flow"], f, atol=1e-3)  # a pure pan
        along, across = f / np.linalg.norm(f), np.array([-f[1], f[0]]) / np.linalg.norm(f)
        ratio = {k: (detail(streaked[k], along) / detail(plain[k], along),
                     detail(streaked[k], across) / detail(plain[k], across)) for k in ("prev", "cur")}
        for k, (a, c) in ratio.items():  # a frame that drew a streak under 0.5 px stays sharp
            assert a == c == 1.0 or a < min(c, 0.95), (seed, k, a, c)
            if a < 1.0:
                gaps.append(c - a)
        assert abs(ratio["prev"][0] - ratio["cur"][0]) > 0.01, (seed, ratio)
    assert len(gaps) >= 8 and np.mean(gaps) > 0.05, gaps


def test_the_previous_frames_motion_follows_its_layers():
    """Each pixel of prev moves as the surface it shows: the camera's pan on the
    background, the layer's own motion on a layer (where the flow of cur says the same)."""
    from vidstyle.data.synthetic import _prev_motion

    rng = np.random.default_rng(0)
    ys, xs = np.mgrid[0:SIZE[0], 0:SIZE[1]].astype(np.float64)
    cam_prev = np.eye(3)
    cam_cur = np.array([[1.0, 0, 3.0], [0, 1, -2.0], [0, 0, 1]])  # pan by (3, -2)
    lay_prev = np.array([[1.0, 0, -10.0], [0, 1, -10.0], [0, 0, 1]])
    lay_cur = lay_prev @ np.linalg.inv(np.array([[1.0, 0, 5.0], [0, 1, 1.0], [0, 0, 1]]))
    a_prev = np.zeros(SIZE, bool)
    a_prev[10:30, 10:30] = rng.random((20, 20)) > 0.3
    motion = _prev_motion(cam_prev, cam_cur, [(lay_prev, lay_cur, a_prev, None)], xs, ys)
    np.testing.assert_allclose(motion[~a_prev], np.broadcast_to([3.0, -2.0], motion[~a_prev].shape))
    np.testing.assert_allclose(motion[a_prev], np.broadcast_to([-5.0, -1.0], motion[a_prev].shape))


def test_deform_bends_the_layer_and_the_flow_follows():
    """A smooth deformation of the layer in cur only: prev and the background stay, the
    layer's pixels move, and the flow still brings prev onto cur on the valid pixels."""
    import torch

    from vidstyle.flow import warp

    def pair(deform: float) -> dict[str, np.ndarray]:
        m = MotionConfig(noise=0.0, deform=deform, layers=(1, 1))
        layers = [photo(11, *SIZE), photo(12, *SIZE)]
        return make_pair(photo(10, 96, 144), layers, SIZE, np.random.default_rng(4), m,
                         photometric=False)

    def residual(p: dict[str, np.ndarray], flow: np.ndarray, where: np.ndarray) -> float:
        t = {k: torch.from_numpy(v).permute(2, 0, 1)[None] for k, v in
             (("prev", p["prev"]), ("cur", p["cur"]), ("flow", flow))}
        diff = (warp(t["prev"], t["flow"]) - t["cur"]).abs().mean(1)[0].numpy()
        return float(diff[where & (p["mask"] > 0)].mean())

    plain, bent = pair(0.0), pair(4.0)
    np.testing.assert_array_equal(plain["prev"], bent["prev"])
    moved = np.abs(bent["flow"] - plain["flow"]).max(-1) > 0.5
    assert 0.02 < moved.mean() < 0.9  # some pixels (on the layer), not the background
    everywhere = np.ones(moved.shape, bool)
    assert residual(bent, bent["flow"], everywhere) < 1.5 * residual(plain, plain["flow"], everywhere)
    # on the bent pixels the new flow, not the rigid one, brings prev onto cur
    assert residual(bent, bent["flow"], moved) < 0.6 * residual(bent, plain["flow"], moved)
