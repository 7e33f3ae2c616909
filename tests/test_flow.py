"""Tests of vidstyle.flow: warping, .flo files, occlusion masks, estimation, pictures.

Analytic cases first (zero flow, integer shifts, constructed occlusions), then a
generated pair with exact flow (tests/gendata.py) and the MPI Sintel pairs of the shared
data (ground-truth flow and occlusions, marked ``data``).
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from vidstyle.errors import FlowFileError
from vidstyle.flow import (
    FLOW_METHODS,
    consistency_mask,
    estimate_flow,
    estimate_flow_pair,
    estimated_occlusion,
    flo_to_tensor,
    flow_to_color,
    inside_mask,
    motion_boundary_mask,
    occlusion_mask,
    read_flo,
    resize_flow,
    resize_mask,
    warp,
    write_flo,
)
from vidstyle.image import load_image

# ---------------------------------------------------------------------------- helpers


def constant_flow(dx: float, dy: float, h: int, w: int, b: int = 1) -> torch.Tensor:
    flow = torch.empty(b, 2, h, w)
    flow[:, 0] = dx
    flow[:, 1] = dy
    return flow


def smooth_texture(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """An analytic RGB texture with wavelengths of ~10-40 px, values in [0, 1].

    Returns ``(1, 3, H, W)`` for coordinate grids ``x``, ``y`` of shape ``(H, W)``.
    """
    r = 0.5 + 0.25 * torch.sin(x / 5.0 + 0.3) + 0.2 * torch.cos(y / 4.0 - 0.7 * x / 9.0)
    g = 0.5 + 0.3 * torch.sin((x + 2 * y) / 7.0) + 0.15 * torch.cos(y / 3.0)
    bl = 0.5 + 0.2 * torch.cos(x / 6.0 - y / 8.0) + 0.25 * torch.sin(y / 6.0 + 1.0)
    return torch.stack((r, g, bl)).unsqueeze(0).clamp(0, 1)


def pixel_grid(h: int, w: int) -> tuple[torch.Tensor, torch.Tensor]:
    ys, xs = torch.meshgrid(
        torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32), indexing="ij"
    )
    return xs, ys


def square_scene(
    h: int = 24, w: int = 40, x0: int = 8, y0: int = 6, s: int = 10, k: int = 4
) -> tuple[torch.Tensor, torch.Tensor, dict[str, slice]]:
    """Static background, a ``s``x``s`` square at column ``x0`` in frame A, ``x0 + k`` in B.

    Returns the exact flows ``(flow_fw on A's grid, flow_bw on B's grid)`` and the
    column ranges of interest (all rows ``y0 .. y0+s-1``).
    """
    rows = slice(y0, y0 + s)
    fw = torch.zeros(1, 2, h, w)
    fw[0, 0, rows, x0 : x0 + s] = k  # A's square pixels land k to the right in B
    bw = torch.zeros(1, 2, h, w)
    bw[0, 0, rows, x0 + k : x0 + k + s] = -k  # B's square pixels come from k to the left
    cols = {
        "rows": rows,
        "square_a": slice(x0, x0 + s),
        "covered_a": slice(x0 + s, x0 + s + k),  # background of A hidden by the square in B
        "square_b": slice(x0 + k, x0 + k + s),
        "uncovered_b": slice(x0, x0 + k),  # background of B that the square hid in A
    }
    return fw, bw, cols


def read_mask_png(path: Path) -> torch.Tensor:
    """A 0/255 Sintel mask PNG as a ``(1, 1, H, W)`` float tensor of 0/1."""
    with Image.open(path) as im:
        arr = np.asarray(im.convert("L")) > 127
    return torch.from_numpy(arr).float()[None, None]


@functools.lru_cache(maxsize=4)
def sintel_pair(root: Path, scene: str, n: int, pas: str = "auto") -> tuple:
    """``(frame_t, frame_t+1, gt_flow, gt_occluded)`` of one Sintel pair, full size.

    ``pas="auto"`` prefers the clean pass where it exists.
    """
    if pas == "auto":
        pas = "clean" if (root / "clean" / scene / f"frame_{n:04d}.png").is_file() else "final"
    a = load_image(root / pas / scene / f"frame_{n:04d}.png")
    b = load_image(root / pas / scene / f"frame_{n + 1:04d}.png")
    flow = flo_to_tensor(read_flo(root / "flow" / scene / f"frame_{n:04d}.flo"))
    occ = read_mask_png(root / "occlusions" / scene / f"frame_{n:04d}.png")
    return a, b, flow, occ


def half(x: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, scale_factor=0.5, mode="area")


def masked_mean_abs(d: torch.Tensor, mask: torch.Tensor) -> float:
    """Mean over masked pixels of the channel-mean absolute value of ``d``."""
    return float((d.abs().mean(1, keepdim=True) * mask).sum() / mask.sum())


# ---------------------------------------------------------------------------- warp


def test_zero_flow_is_identity() -> None:
    x = torch.rand(2, 3, 7, 10)  # odd sizes on purpose
    out = warp(x, torch.zeros(2, 2, 7, 10))
    torch.testing.assert_close(out, x, atol=1e-5, rtol=0)
    assert inside_mask(torch.zeros(2, 2, 7, 10)).eq(1).all()


@pytest.mark.parametrize(("dx", "dy"), [(3, 0), (0, -2), (2, 1), (-4, 3)])
def test_integer_shift_equals_roll_and_band_leaving_frame_is_masked(dx: int, dy: int) -> None:
    h, w = 9, 12
    x = torch.rand(1, 3, h, w)
    flow = constant_flow(dx, dy, h, w)
    out = warp(x, flow)
    # out(p) = x(p + d), i.e. the content moves by -d: torch.roll by (-dy, -dx).
    rolled = torch.roll(x, shifts=(-dy, -dx), dims=(2, 3))

    expected_inside = torch.zeros(1, 1, h, w)
    expected_inside[..., max(0, -dy) : h - max(0, dy), max(0, -dx) : w - max(0, dx)] = 1
    mask = inside_mask(flow)
    assert torch.equal(mask, expected_inside)
    inside = mask.bool().expand_as(out)
    torch.testing.assert_close(out[inside], rolled[inside], atol=1e-5, rtol=0)
    # And the masked band really is wrong (it would hold the wrapped-around pixels).
    assert not torch.allclose(out[~inside], rolled[~inside], atol=1e-3)


def test_warp_recovers_known_affine_motion() -> None:
    """Frame A is the texture seen through a sub-pixel affine motion of frame B."""
    h, w = 48, 64
    xs, ys = pixel_grid(h, w)
    # flow(p) = M (p - c) + t: a slight rotation + zoom about the centre, plus a
    # non-integer translation. Max displacement ~5.6 px.
    cx, cy = (w - 1) / 2, (h - 1) / 2
    u = 0.06 * (xs - cx) - 0.04 * (ys - cy) + 2.6
    v = 0.04 * (xs - cx) + 0.06 * (ys - cy) - 1.4
    flow = torch.stack((u, v)).unsqueeze(0)
    frame_b = smooth_texture(xs, ys)
    frame_a = smooth_texture(xs + u, ys + v)  # a(p) = b(p + flow(p)) exactly

    valid = inside_mask(flow)
    assert valid.mean() > 0.8
    err_warp = masked_mean_abs(warp(frame_b, flow) - frame_a, valid)
    err_none = masked_mean_abs(frame_b - frame_a, valid)
    # Measured: 0.001 (bilinear interpolation error only) vs 0.085.
    assert err_warp < 0.005
    assert err_none > 0.06
    # The opposite direction (a classic port bug) does not work.
    assert masked_mean_abs(warp(frame_b, -flow) - frame_a, valid * inside_mask(-flow)) > 0.06


def test_warp_batched_equals_per_item() -> None:
    x = torch.rand(3, 2, 6, 8)
    flow = torch.randn(3, 2, 6, 8) * 2
    batched = warp(x, flow)
    for i in range(3):
        torch.testing.assert_close(batched[i : i + 1], warp(x[i : i + 1], flow[i : i + 1]))


def test_warp_gradcheck_wrt_x_and_flow() -> None:
    x = torch.rand(1, 2, 4, 5, dtype=torch.float64, requires_grad=True)
    flow = (torch.rand(1, 2, 4, 5, dtype=torch.float64) - 0.5) * 3
    assert torch.autograd.gradcheck(lambda t: warp(t, flow), (x,), eps=1e-6, atol=1e-5)

    # Flow: bilinear sampling is smooth between pixel centres, so keep every
    # sample inside the frame and away from integer coordinates.
    xs, ys = pixel_grid(4, 5)
    base = torch.stack((xs, ys)).unsqueeze(0).double()
    target = torch.stack((xs.clamp(0.2, 3.2) + 0.3, ys.clamp(0.2, 2.2) + 0.4)).unsqueeze(0)
    f = (target.double() - base).requires_grad_(True)
    x_fixed = x.detach()
    assert torch.autograd.gradcheck(lambda t: warp(x_fixed, t), (f,), eps=1e-6, atol=1e-5)


def test_resize_flow_scales_vectors_and_resize_mask_min_pools() -> None:
    flow = constant_flow(3.0, -2.0, 32, 64)
    small = resize_flow(flow, (16, 32))
    assert small.shape == (1, 2, 16, 32)
    torch.testing.assert_close(small[:, 0], torch.full((1, 16, 32), 1.5))
    torch.testing.assert_close(small[:, 1], torch.full((1, 16, 32), -1.0))
    big = resize_flow(flow, (64, 128))
    torch.testing.assert_close(big[:, 0], torch.full((1, 64, 128), 6.0))
    torch.testing.assert_close(big[:, 1], torch.full((1, 64, 128), -4.0))

    mask = torch.ones(1, 1, 8, 8)
    mask[0, 0, 5, 2] = 0  # one invalid pixel in the bottom-left 4x4 block
    pooled = resize_mask(mask, (2, 2))
    assert torch.equal(pooled, torch.tensor([[[[1.0, 1.0], [0.0, 1.0]]]]))


# ---------------------------------------------------------------------------- .flo files


@pytest.mark.parametrize("as_tensor", ["numpy", "tensor4", "tensor3"])
def test_flo_round_trip_is_exact(tmp_path: Path, as_tensor: str) -> None:
    rng = np.random.default_rng(0)
    arr = (rng.standard_normal((5, 7, 2)) * 40).astype(np.float32)
    arr[0, 0] = [1e9, -1e-30]  # extreme values survive too
    src = {
        "numpy": arr,
        "tensor4": torch.from_numpy(arr).permute(2, 0, 1).unsqueeze(0),
        "tensor3": torch.from_numpy(arr).permute(2, 0, 1),
    }[as_tensor]
    path = tmp_path / "f.flo"
    write_flo(path, src)
    back = read_flo(path)
    assert back.dtype == np.float32 and back.shape == (5, 7, 2)
    assert np.array_equal(back, arr)
    assert path.read_bytes()[:4] == b"PIEH"
    assert path.stat().st_size == 12 + 5 * 7 * 2 * 4
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind
    torch.testing.assert_close(flo_to_tensor(back), torch.from_numpy(arr).permute(2, 0, 1)[None])


def _header(w: int, h: int, magic: bytes = b"PIEH") -> bytes:
    return magic + np.array([w, h], "<i4").tobytes()


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "not found"),
        (_header(2, 2, magic=b"PIEZ") + bytes(32), "not a Middlebury"),
        (_header(2, 2) + bytes(31), "truncated"),
        (b"PIE", "truncated"),
        (_header(2, 2) + bytes(40), "trailing"),
        (_header(0, 5), "implausible"),
        (_header(10**6, 10**6), "implausible"),
        (b"# not a flow file\n1 2 3\n4 5 6\n", "not a Middlebury"),
    ],
    ids=["missing", "magic", "truncated", "tiny", "oversized", "zero", "huge", "text"],
)
def test_bad_flo_files_raise(tmp_path: Path, content: bytes | None, problem: str) -> None:
    path = tmp_path / "bad.flo"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(FlowFileError, match=problem) as info:
        read_flo(path)
    assert "bad.flo" in str(info.value)


def test_write_flo_rejects_bad_shapes(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"\(4, 4, 3\)"):
        write_flo(tmp_path / "x.flo", np.zeros((4, 4, 3), np.float32))
    with pytest.raises(ValueError, match=r"\(2, 2, 4, 4\)"):
        write_flo(tmp_path / "x.flo", torch.zeros(2, 2, 4, 4))
    assert not list(tmp_path.iterdir())


# ---------------------------------------------------------------------------- occlusion


def test_forward_backward_mask_on_moving_square() -> None:
    k = 4
    fw, bw, c = square_scene(k=k)
    r = c["rows"]

    # Mask of A's pixels: the background covered by the square in B is invalid,
    # everything that moves consistently (the square, the rest of the background) is valid.
    m_a = occlusion_mask(fw, bw, motion_boundaries=False)
    expected_a = torch.ones_like(m_a)
    expected_a[0, 0, r, c["covered_a"]] = 0
    assert torch.equal(m_a, expected_a)

    # Mask of B's pixels (roles swapped): the background uncovered in B is invalid.
    m_b = occlusion_mask(bw, fw, motion_boundaries=False)
    expected_b = torch.ones_like(m_b)
    expected_b[0, 0, r, c["uncovered_b"]] = 0
    assert torch.equal(m_b, expected_b)

    # With motion boundaries on, only more pixels are removed, and the square's
    # interior and the far background stay valid.
    m_full = occlusion_mask(fw, bw)
    assert torch.all(m_full <= m_a)
    assert m_full[0, 0, r, c["square_a"]][2:-2, 2:-2].eq(1).all()
    assert m_full[0, 0, :3].eq(1).all()


def test_consistency_mask_removes_pixels_leaving_the_frame() -> None:
    fw = constant_flow(3, 0, 8, 10)
    bw = constant_flow(-3, 0, 8, 10)
    m = consistency_mask(fw, bw)
    assert m[..., :7].eq(1).all() and m[..., 7:].eq(0).all()
    # A constant translation has no motion boundary anywhere.
    assert motion_boundary_mask(fw).eq(1).all()
    assert torch.equal(occlusion_mask(fw, bw), m)


def test_motion_boundary_fires_at_square_edge_only() -> None:
    fw, _, _ = square_scene(h=24, w=40, x0=8, y0=6, s=10, k=4)
    mb = motion_boundary_mask(fw)[0, 0]
    # Pixels on both sides of each edge of the square (central differences).
    for col in (7, 8, 17, 18):
        assert mb[8:14, col].eq(0).all(), f"column {col} not marked"
    for row in (5, 6, 15, 16):
        assert mb[row, 10:16].eq(0).all(), f"row {row} not marked"
    # Flat regions: the square's interior and the background away from it.
    assert mb[8:14, 10:16].eq(1).all()
    assert mb[:4].eq(1).all() and mb[:, 21:].eq(1).all()
    # It is not an occlusion mask: it misses the covered background band entirely
    # except its first column.
    assert mb[8:14, 19:22].eq(1).all()


def test_occlusion_mask_batched_and_shape_errors() -> None:
    fw, bw, _ = square_scene()
    fw2 = torch.cat((fw, fw.flip(-1).neg()))
    bw2 = torch.cat((bw, bw.flip(-1).neg()))
    batched = occlusion_mask(fw2, bw2)
    assert batched.shape == (2, 1, 24, 40)
    torch.testing.assert_close(batched[:1], occlusion_mask(fw, bw))
    torch.testing.assert_close(batched[1:], occlusion_mask(fw2[1:], bw2[1:]))

    with pytest.raises(ValueError, match=r"\(1, 2, 24, 39\)"):
        occlusion_mask(fw, bw[..., :39])
    with pytest.raises(ValueError, match=r"\(1, 3, 8, 8\)"):
        warp(torch.rand(1, 3, 8, 8), torch.zeros(1, 3, 8, 8))
    with pytest.raises(ValueError, match=r"\(2, 8, 8\)"):
        motion_boundary_mask(torch.zeros(2, 8, 8))


# ---------------------------------------------------------------------------- estimation


def shifted_pair(dx: int, dy: int, h: int = 64, w: int = 80) -> tuple[torch.Tensor, torch.Tensor]:
    """Frames with ``a(p) = b(p + (dx, dy))``: the true flow from a to b is ``(dx, dy)``."""
    xs, ys = pixel_grid(h, w)
    a = smooth_texture(xs, ys)
    b = smooth_texture(xs - dx, ys - dy)
    return a, b


def test_estimate_flow_recovers_synthetic_shift() -> None:
    a, b = shifted_pair(3, -2)
    interior = (slice(None), slice(None), slice(12, -12), slice(12, -12))
    for method in FLOW_METHODS:
        flow = estimate_flow(a, b, method)
        assert flow.shape == (1, 2, 64, 80) and flow.dtype == torch.float32
        med = flow[interior].flatten(2).median(dim=2).values[0]
        torch.testing.assert_close(med, torch.tensor([3.0, -2.0]), atol=0.25, rtol=0)
        # The documented direction: warp(b, flow) ~ a.
        valid = inside_mask(flow)
        assert masked_mean_abs(warp(b, flow) - a, valid) < 0.3 * masked_mean_abs(b - a, valid)


def test_estimate_flow_inputs_batches_and_errors() -> None:
    a, b = shifted_pair(2, 1, h=40, w=48)
    flow = estimate_flow(a, b, "dis", preset="fast")

    # uint8 RGB numpy input gives the same result as the equivalent tensor.
    def to_np(t: torch.Tensor) -> np.ndarray:
        return (t[0].permute(1, 2, 0) * 255).round().byte().numpy()

    torch.testing.assert_close(estimate_flow(to_np(a), to_np(b), "dis", preset="fast"), flow)
    # A batch is estimated item by item.
    batch = estimate_flow(torch.cat((a, b)), torch.cat((b, a)), "dis", preset="fast")
    assert batch.shape == (2, 2, 40, 48)
    torch.testing.assert_close(batch[:1], flow)
    fab, fba = estimate_flow_pair(a, b, "dis", preset="fast")
    torch.testing.assert_close(fab, flow)
    torch.testing.assert_close(fba, batch[1:])

    with pytest.raises(ValueError, match="dis, farneback"):
        estimate_flow(a, b, "raft")
    with pytest.raises(ValueError, match="ultrafast"):
        estimate_flow(a, b, "dis", preset="slow")
    with pytest.raises(ValueError, match=r"\(1, 3, 40, 48\).*\(1, 3, 40, 47\)"):
        estimate_flow(a, b[..., :47])
    with pytest.raises(ValueError, match=r"\(1, 1, 40, 48\)"):
        estimate_flow(a[:, :1], b[:, :1])
    with pytest.raises(ValueError, match=r"\(40, 48\)"):
        estimate_flow(np.zeros((40, 48), np.uint8), np.zeros((40, 48), np.uint8))
    with pytest.raises(TypeError, match="both"):
        estimate_flow(a, to_np(b))


@pytest.mark.parametrize(
    ("h", "w", "preset"), [(10, 40, "medium"), (31, 100, "fast"), (16, 17, "ultrafast")]
)
def test_dis_on_small_wide_frames_does_not_crash(h: int, w: int, preset: str) -> None:
    # Unguarded, OpenCV 5.0's DIS segfaults on these sizes (see estimate._dis_for).
    a, b = shifted_pair(1, 0, h=h, w=w)
    flow = estimate_flow(a, b, "dis", preset=preset)
    assert flow.shape == (1, 2, h, w) and torch.isfinite(flow).all()
    with pytest.raises(ValueError, match="too small for DIS.*farneback"):
        estimate_flow(a[..., :6, :], b[..., :6, :], "dis")
    assert estimate_flow(a[..., :6, :], b[..., :6, :], "farneback").shape == (1, 2, 6, w)


# ---------------------------------------------------------------------------- Sintel


def test_exact_pair_flow_warps_and_estimates(sintel_tree: Path) -> None:
    """The Sintel checks below, on a generated pair with exact flow: a moving camera and
    two occluding layers (clean pass, ~5 px motion)."""
    a, b, flow, occ = sintel_pair(sintel_tree, "layers_2", 1, "clean")
    valid = (1 - occ) * inside_mask(flow)
    assert masked_mean_abs(warp(b, flow) - a, valid) < 0.3 * masked_mean_abs(b - a, valid)
    both = valid * inside_mask(-flow)  # guards against sign/direction bugs
    good = masked_mean_abs(warp(b, flow) - a, both)
    assert masked_mean_abs(warp(b, -flow) - a, both) > 3 * good
    assert masked_mean_abs(warp(a, flow) - b, both) > 3 * good
    zero_epe = float(flow.norm(dim=1).mean())
    dis_epe = float((estimate_flow(a, b, "dis") - flow).norm(dim=1).mean())
    fb_epe = float((estimate_flow(a, b, "farneback") - flow).norm(dim=1).mean())
    assert dis_epe < 0.25 * zero_epe, (dis_epe, zero_epe)
    assert fb_epe < 0.5 * zero_epe, (fb_epe, zero_epe)


# ambush_4/0004 (final pass): a huge, heavily motion-blurred foreground swings
# through a smoke-filled frame (mean |flow| 66 px, 35% occluded). The GT flow
# matches the geometry, but the rendered colours do not follow it, so warping
# with it does not beat no warp (36 vs 29 on 0-255). See shared/data/SOURCES.md.
SINTEL_INCONCLUSIVE = {("ambush_4", 4)}


@pytest.mark.data
def test_sintel_gt_flow_warps_next_frame_onto_current(sintel_root: Path) -> None:
    flos = sorted(sintel_root.glob("flow/*/frame_*.flo"))
    assert len(flos) >= 13, f"expected the 13 Sintel flows of the shared data, found {len(flos)}"
    ratios: dict[str, float] = {}
    failures = []
    for flo in flos:
        scene, n = flo.parent.name, int(flo.stem.split("_")[1])
        for pas in ("clean", "final"):
            if not (sintel_root / pas / scene / f"frame_{n:04d}.png").is_file():
                continue
            a, b, flow, occ = sintel_pair(sintel_root, scene, n, pas)
            assert flow.shape == (1, 2, 436, 1024)
            valid = (1 - occ) * inside_mask(flow)
            err_warp = masked_mean_abs(warp(b, flow) - a, valid)
            err_none = masked_mean_abs(b - a, valid)
            name = f"{scene}/{n:04d}/{pas}"
            ratios[name] = err_warp / err_none
            if err_warp >= err_none and (scene, n) not in SINTEL_INCONCLUSIVE:
                failures.append(f"{name}: warped {err_warp * 255:.1f} vs {err_none * 255:.1f}")
    assert not failures, failures
    assert len(ratios) >= 15
    # Most pairs are explained far better by the flow than by standing still.
    assert float(np.median(list(ratios.values()))) < 0.4, ratios


@pytest.mark.data
def test_sintel_negated_flow_is_worse(sintel_root: Path) -> None:
    """Guards against the sign/direction bugs of public ports on real data."""
    a, b, flow, occ = sintel_pair(sintel_root, "cave_2", 2)
    valid = (1 - occ) * inside_mask(flow) * inside_mask(-flow)
    good = masked_mean_abs(warp(b, flow) - a, valid)
    assert masked_mean_abs(warp(b, -flow) - a, valid) > 3 * good
    assert masked_mean_abs(warp(a, flow) - b, valid) > 3 * good


@pytest.mark.data
def test_dis_on_sintel_beats_zero_flow(sintel_root: Path) -> None:
    a, b, flow, _ = sintel_pair(sintel_root, "cave_2", 2)  # clean pass, ~15 px motion
    a, b = half(a), half(b)
    gt = resize_flow(flow, a.shape[-2:])
    zero_epe = float(gt.norm(dim=1).mean())
    dis_epe = float((estimate_flow(a, b, "dis") - gt).norm(dim=1).mean())
    fb_epe = float((estimate_flow(a, b, "farneback") - gt).norm(dim=1).mean())
    # Measured: zero 7.5 px, DIS medium 1.0 px, Farneback 1.9 px.
    assert dis_epe < 0.25 * zero_epe, (dis_epe, zero_epe)
    assert fb_epe < 0.5 * zero_epe, (fb_epe, zero_epe)


@pytest.mark.data
def test_estimated_fb_mask_matches_sintel_occlusions(sintel_root: Path) -> None:
    a, b, _, occ = sintel_pair(sintel_root, "cave_2", 2)
    a, b = half(a), half(b)
    size = a.shape[-2:]
    gt_occluded = resize_mask(occ, size)  # wholly occluded footprints
    gt_visible = resize_mask(1 - occ, size)  # wholly visible footprints
    flow, mask = estimated_occlusion(a, b, "dis")
    assert flow.shape == (1, 2, *size) and mask.shape == (1, 1, *size)
    invalid = 1 - mask
    rate_occ = float((invalid * gt_occluded).sum() / gt_occluded.sum())
    rate_vis = float((invalid * gt_visible).sum() / gt_visible.sum())
    # Measured: 0.68 of GT-occluded pixels invalid, 0.08 of GT-visible ones.
    assert rate_occ > 0.5 and rate_occ > 4 * rate_vis, (rate_occ, rate_vis)


# ---------------------------------------------------------------------------- pictures


def test_flow_to_color_zero_is_white_and_directions_differ() -> None:
    white = flow_to_color(torch.zeros(1, 2, 6, 9))
    assert white.shape == (6, 9, 3) and white.dtype == np.uint8
    assert (white == white[0, 0]).all() and white.min() >= 250

    def hue_of(dx: float, dy: float) -> np.ndarray:
        return flow_to_color(np.tile(np.float32([dx, dy]), (4, 4, 1)), max_flow=1.0)[0, 0]

    right, left, down, up = hue_of(1, 0), hue_of(-1, 0), hue_of(0, 1), hue_of(0, -1)
    assert tuple(right) == (255, 0, 0)  # fully saturated red at max_flow
    assert left[0] < 50 and left[2] > 200  # cyan-blue
    for p, q in ((right, left), (down, up)):
        assert np.abs(p.astype(int) - q.astype(int)).sum() > 200
    # Shorter vectors are paler, longer than max_flow darker.
    pale = flow_to_color(np.tile(np.float32([0.5, 0]), (2, 2, 1)), max_flow=1.0)[0, 0]
    dark = flow_to_color(np.tile(np.float32([2.0, 0]), (2, 2, 1)), max_flow=1.0)[0, 0]
    assert pale[1] > 100 and pale[0] == 255 and dark[0] < 255


def test_flow_to_color_accepts_shapes_and_rejects_others(sintel_tree: Path) -> None:
    _, _, flow, _ = sintel_pair(sintel_tree, "layers_2", 1)
    img = flow_to_color(flow)
    assert img.shape == (64, 96, 3)
    np.testing.assert_array_equal(flow_to_color(flow[0]), img)
    np.testing.assert_array_equal(flow_to_color(flow[0].permute(1, 2, 0).numpy()), img)
    with pytest.raises(ValueError, match=r"\(3, 4, 4\)"):
        flow_to_color(torch.zeros(3, 4, 4))
    with pytest.raises(ValueError, match=r"\(4, 4, 3\)"):
        flow_to_color(np.zeros((4, 4, 3)))
