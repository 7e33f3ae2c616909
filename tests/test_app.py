"""``vidstyle app`` without a browser: upload checks, workspace, gallery, runs, training, CLI.

The page's own wiring (Gradio) is checked at the end, skipped when Gradio is
missing; tests/test_app_browser.py drives the real page in Chromium.
"""

from __future__ import annotations

import sys
from pathlib import Path

import av
import numpy as np
import pytest
import torch
from PIL import Image
from videogen import write_audio_only, write_clip

from vidstyle.app import INSTALL_HINT, AppConfig, check_config
from vidstyle.app.gallery import Style, bundled_gallery, tile, trained_gallery
from vidstyle.app.media import MB, UploadError, first_frame, inspect_media
from vidstyle.app.stylize import (
    RUDER_MAX_FRAMES,
    Job,
    Progress,
    _Flicker,
    flicker_plot,
    preview,
    stylize,
)
from vidstyle.app.training import Trainer, TrainRecipe, check_style_name, train_argv
from vidstyle.app.workspace import Workspace
from vidstyle.cli import main
from vidstyle.errors import VidstyleError
from vidstyle.eval.metrics import mean_abs_frame_difference
from vidstyle.models.checkpoint import save_checkpoint
from vidstyle.models.reconet import ReCoNet, model_size_config
from vidstyle.pretrained import bundled_styles

LIMIT = 50 * MB


@pytest.fixture()
def clip(tmp_path):
    """1 s, 25 frames of 96x64 with a tone."""
    return write_clip(tmp_path / "clip.mp4", width=96, height=64, fps=25, n_frames=25, audio=True)


@pytest.fixture()
def photo(tmp_path) -> Path:
    p = tmp_path / "photo.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (40, 60, 3), dtype=np.uint8)).save(p)
    return p


@pytest.fixture(scope="module")
def candy() -> Style:
    return next(s for s in bundled_gallery() if s.name == "candy")


# ----------------------------------------------------------------------------- uploads


def test_a_video_with_audio_is_described(clip):
    m = inspect_media(clip.path, max_bytes=LIMIT)
    assert (m.kind, m.width, m.height, m.frames, m.has_audio) == ("video", 96, 64, 25, True)
    assert m.fps == pytest.approx(25)
    assert m.describe() == "video, 1.0 s, 25 frames at 25 fps, 96x64, with audio"
    assert first_frame(m).shape == (64, 96, 3)


def test_a_photo_is_one_frame(photo):
    m = inspect_media(photo, max_bytes=LIMIT)
    assert (m.kind, m.width, m.height, m.frames, m.has_audio) == ("image", 60, 40, 1, False)
    assert m.describe() == "photo, 60x40"


def test_a_text_file_renamed_mp4_gets_one_line_naming_it(tmp_path):
    fake = tmp_path / "notes.mp4"
    fake.write_text("not a video\n" * 50)
    with pytest.raises(UploadError) as e:
        inspect_media(fake, max_bytes=LIMIT)
    msg = str(e.value)
    assert msg.startswith("notes.mp4: it is not a video vidstyle can read; upload a video (.mp4")
    assert "\n" not in msg and str(tmp_path) not in msg  # the user's file name, not our temp path


def test_a_text_file_renamed_png_is_not_a_photo(tmp_path):
    fake = tmp_path / "holiday.png"
    fake.write_text("not a picture")
    with pytest.raises(UploadError, match=r"^holiday.png: it is not a photo vidstyle can read"):
        inspect_media(fake, max_bytes=LIMIT)


def test_sound_without_picture_is_refused(tmp_path):
    song = write_audio_only(tmp_path / "song.m4a", seconds=0.5)
    with pytest.raises(UploadError, match="song.m4a: it has sound but no picture"):
        inspect_media(song, max_bytes=LIMIT)


def test_files_over_the_limit_and_empty_files_are_refused(clip, tmp_path):
    size = clip.path.stat().st_size
    with pytest.raises(UploadError, match=r"clip.mp4 is 0.0 MB; this app accepts files up to 0 MB "
                                          r"\(vidstyle app --max-upload-mb\)"):
        inspect_media(clip.path, max_bytes=size - 1)
    assert inspect_media(clip.path, max_bytes=size).frames == 25  # the limit itself is allowed
    empty = tmp_path / "empty.mp4"
    empty.touch()
    with pytest.raises(UploadError, match="empty.mp4 is empty"):
        inspect_media(empty, max_bytes=LIMIT)


# ----------------------------------------------------------------------------- workspace


def test_workspace_keeps_the_newest_runs_and_is_removed_on_close(tmp_path):
    with Workspace(tmp_path, keep_runs=2) as ws:
        assert ws.root.parent == tmp_path and ws.root.name.startswith("vidstyle-app-")
        runs = [ws.new_run() for _ in range(3)]
        assert [r.name for r in runs] == ["run-0001", "run-0002", "run-0003"]
        (runs[2] / "result.mp4").write_bytes(b"x")
        assert [r.exists() for r in runs] == [False, True, True]
        assert ws.subfolder("cache").is_dir()
    assert not ws.root.exists()
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------- gallery


def test_the_gallery_shows_every_bundled_style_with_its_painting():
    styles = bundled_gallery()
    assert [s.name for s in styles] == [s for s in bundled_styles() if not s.endswith("-lite")]
    assert all(s.painting is not None and s.painting.is_file() for s in styles)


def test_a_style_names_the_model_of_a_method_and_size(candy):
    assert candy.methods()[0] == "reconet"
    assert {"per-frame", "huang", "chen", "ruder"} <= set(candy.methods())
    assert candy.reference("reconet", "full").name == "candy"
    assert candy.reference("reconet", "lite").name == "candy-lite"
    assert candy.reference("chen", "lite").name == "candy-lite"
    ruder = candy.reference("ruder", "lite")  # no network: size does not apply
    assert (ruder.kind, ruder.path) == ("image", candy.painting)
    assert candy.tag("reconet", "lite") == "candy-lite"
    assert candy.tag("huang", "full") == "candy.huang"
    with pytest.raises(VidstyleError, match="lite models are ReCoNet networks: with model size lite pick "
                                            "reconet or chen, not per-frame"):
        candy.reference("per-frame", "lite")
    with pytest.raises(VidstyleError, match="cannot run"):
        Style("nopainting", None).reference("ruder", "full")


def _own_style(root: Path, name: str, painting: bool = True) -> Path:
    run = root / name
    run.mkdir(parents=True)
    save_checkpoint(run / "model.pt", ReCoNet(model_size_config("lite")))
    if painting:
        Image.new("RGB", (40, 30), (200, 40, 40)).save(run / "painting.jpg")
    return run


def test_own_styles_are_finished_runs_and_run_their_own_network(tmp_path):
    run = _own_style(tmp_path, "red")
    (tmp_path / "unfinished").mkdir()  # no model.pt: still training, not in the gallery
    [own] = trained_gallery(tmp_path)
    assert (own.name, own.model, own.painting) == ("red", run / "model.pt", run / "painting.jpg")
    assert own.methods() == ("reconet", "chen", "ruder")
    assert own.reference("reconet", "lite").path == run / "model.pt"
    assert own.tag("reconet", "full") == "red"
    assert trained_gallery(tmp_path / "missing") == []


def test_a_tile_is_the_painting_above_the_stylized_frame(candy):
    frame = np.zeros((90, 160, 3), np.uint8)
    frame[:, 80:] = 255
    t = tile(candy, frame, width=64)
    assert t.shape == (36 + 4 + 36, 64, 3) and t.dtype == np.uint8
    assert (t[36:40] == 255).all()  # the white gap
    assert not np.array_equal(t[:36], t[40:])


# ----------------------------------------------------------------------------- runs


def test_progress_line_counts_frames_rate_and_time_left():
    p = Progress(frames=10, total=30, seconds=2.0)
    assert (p.fps, p.eta) == (5.0, 4.0)
    assert p.line() == "10/30 frames, 5 frames/s, about 4 s left"
    assert Progress(0, 30, 0.5).line() == "0/30 frames"
    assert Progress(3, 0, 1.0).eta is None


class _Identity:
    def reset(self) -> None:
        pass

    def __call__(self, frames: torch.Tensor) -> torch.Tensor:
        return frames.clone()


def test_flicker_spans_batch_boundaries():
    frames = torch.rand(7, 3, 8, 10)
    obs = _Flicker(_Identity())
    for a, b in ((0, 3), (3, 4), (4, 7)):  # batches of 3, 1 and 3 frames
        obs(frames[a:b])
    expected = mean_abs_frame_difference(frames)
    assert obs.input_flicker == pytest.approx(expected)
    assert obs.output_flicker == pytest.approx(expected)  # identity: output flickers as the input


def test_a_clip_is_stylized_with_progress_flicker_and_audio(clip, candy, tmp_path):
    media = inspect_media(clip.path, max_bytes=LIMIT)
    seen: list[Progress] = []
    result = stylize(Job(media, candy, "reconet", "lite"), tmp_path, seen.append)
    assert result.output == tmp_path / "clip.candy-lite.mp4"
    assert result.frames == 25 and result.has_audio
    assert [p.frames for p in seen] == sorted(p.frames for p in seen) and seen[-1].frames == 25
    assert len(result.input_flicker) == len(result.output_flicker) == 24
    assert all(0 <= v <= 1 for v in result.output_flicker)
    with av.open(str(result.output)) as c:
        assert (c.streams.video[0].width, c.streams.video[0].height) == (96, 64)
        assert len(c.streams.audio) == 1
        assert sum(1 for _ in c.decode(video=0)) == 25
    plot = flicker_plot(result, tmp_path / "flicker.png")
    assert Image.open(plot).size == (700, 260)


def test_max_size_scales_the_long_side(clip, candy, tmp_path):
    media = inspect_media(clip.path, max_bytes=LIMIT)
    result = stylize(Job(media, candy, "reconet", "lite", max_size=48), tmp_path)
    with av.open(str(result.output)) as c:
        assert (c.streams.video[0].width, c.streams.video[0].height) == (48, 32)
    rgb, out = preview(Job(media, candy, "reconet", "lite", max_size=48))
    assert rgb.shape == out.shape == (32, 48, 3)
    assert not np.array_equal(rgb, out)


def test_a_photo_becomes_a_png(photo, candy, tmp_path):
    result = stylize(Job(inspect_media(photo, max_bytes=LIMIT), candy, "reconet", "lite"), tmp_path)
    assert result.output == tmp_path / "photo.candy-lite.png" and result.frames == 1
    assert result.input_flicker == [] and Image.open(result.output).size == (60, 40)


def test_ruder_is_refused_on_long_clips_with_its_cost(clip, candy):
    job = Job(inspect_media(clip.path, max_bytes=LIMIT), candy, "ruder")
    with pytest.raises(VidstyleError, match=rf"ruder optimises every frame \(about \d+ min for these 25 "
                                            rf"frames\): use it on a photo or a clip of at most "
                                            rf"{RUDER_MAX_FRAMES} frames"):
        job.check()


# ----------------------------------------------------------------------------- training


def test_train_command_and_style_names(tmp_path):
    argv = train_argv(Path("p.jpg"), ["clip:demo.mp4"], tmp_path / "mine", TrainRecipe())
    assert argv[:4] == [sys.executable, "-m", "vidstyle.cli", "train"]
    assert " ".join(argv[4:]) == (f"--style p.jpg --data clip:demo.mp4 --preset reconet "
                                  f"-o {tmp_path / 'mine'} "
                                  "--steps 1000 --size 128 --batch-size 1 --lr 0.002 --model-size lite "
                                  "--overwrite -q")
    assert check_style_name("  my_style-2 ", tmp_path) == "my_style-2"
    for bad, why in (("", "use 1-40 letters"), ("../x", "use 1-40 letters"), ("candy", "bundled style"),
                     ("candy-lite", "bundled style")):
        with pytest.raises(VidstyleError, match=why):
            check_style_name(bad, tmp_path)
    _own_style(tmp_path, "taken")
    with pytest.raises(VidstyleError, match="a style named 'taken' exists already"):
        check_style_name("taken", tmp_path)
    with pytest.raises(VidstyleError, match="steps must be between"):
        TrainRecipe(steps=0)


def _photos(folder: Path, n: int, side: int) -> list[Path]:
    folder.mkdir()
    rng = np.random.default_rng(1)
    out = []
    for i in range(n):
        p = folder / f"p{i}.png"
        Image.fromarray(rng.integers(0, 255, (side, side + 8, 3), dtype=np.uint8)).save(p)
        out.append(p)
    return out


@pytest.fixture()
def trainers():
    """Makes :class:`Trainer` objects and stops their processes at the end, pass or fail."""
    made: list[Trainer] = []

    def make(*args, **kwargs) -> Trainer:
        made.append(Trainer(*args, **kwargs))
        return made[-1]

    yield make
    for t in made:
        t.stop()


def test_a_training_runs_in_the_background_and_joins_the_gallery(trainers, tmp_path):
    painting = tmp_path / "red.png"
    Image.fromarray(np.random.default_rng(2).integers(0, 255, (48, 48, 3), dtype=np.uint8)).save(painting)
    photos = _photos(tmp_path / "photos", 3, 48)
    styles = tmp_path / "styles"
    trainer = trainers(styles)
    assert trainer.status().line() == "No training started yet."
    recipe = TrainRecipe(steps=2, size=32, preset="debug")
    first = trainer.start("red", painting, photos, recipe)
    assert first.state == "running" and first.line().startswith("Training red: step 0 of 2 (preparing")
    with pytest.raises(VidstyleError, match=r"a training is running \(red\)"):
        trainer.start("blue", painting, photos, recipe)
    done = trainer.wait(900)  # seconds on an idle machine; minutes on a busy one
    assert done.state == "done", (styles / "red" / "train.log").read_text()[-1500:]
    assert done.line().startswith("red is ready (2 steps")
    assert done.samples and all(p.is_file() for p in done.samples)
    assert [s.name for s in trained_gallery(styles)] == ["red"]
    assert (styles / "red" / "painting.png").is_file()

    # Photos smaller than the crop are refused at once, before any process starts.
    with pytest.raises(UploadError, match=r"photo p0.png is 24x16: photos must be at least 32x32"):
        trainer.start("tiny", painting, _photos(tmp_path / "small", 1, 16), recipe)
    with pytest.raises(UploadError, match="give some photos to learn from"):
        trainer.start("nophotos", painting)
    # A training that fails (here: a preset vidstyle train does not know): its one-line error comes back.
    broken = trainers(styles, default_photos=photos)
    broken.start("broken", painting, recipe=TrainRecipe(steps=2, size=32, preset="bogus"))
    failed = broken.wait(900)
    assert failed.state == "failed" and failed.line().startswith("Training broken failed: ")
    assert "\n" not in failed.message and "bogus" in failed.message
    assert [s.name for s in trained_gallery(styles)] == ["red"]


def test_a_painting_must_be_an_image(tmp_path):
    fake = tmp_path / "painting.png"
    fake.write_text("no")
    with pytest.raises(UploadError, match=r"the painting \(painting.png\) is not an image vidstyle can read"):
        Trainer(tmp_path / "styles", []).start("x", fake)
    assert not (tmp_path / "styles" / "x").exists()


# ----------------------------------------------------------------------------- command line


def test_app_without_gradio_says_how_to_get_it(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "gradio", None)  # "import gradio" now raises ImportError
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)
    assert main(["app", "--styles-dir", str(tmp_path / "styles")]) == 1
    err = capsys.readouterr().err
    assert err == f"vidstyle: error: {INSTALL_HINT}\n"
    assert [p.name for p in tmp_path.iterdir()] == []  # its temporary folder is gone too


def test_app_options_are_checked_first(tmp_path):
    for config, msg in ((AppConfig(port=70000), "--port must be between 1 and 65535"),
                        (AppConfig(share_folder=tmp_path / "none"), "is not a folder"),
                        (AppConfig(styles_dir=tmp_path / "a" / "b"), "does not exist"),
                        (AppConfig(max_upload_mb=0), "--max-upload-mb must be at least 1")):
        with pytest.raises(VidstyleError, match=msg):
            check_config(config)


# ----------------------------------------------------------------------------- the page (Gradio)


@pytest.fixture()
def handlers(tmp_path):
    pytest.importorskip("gradio", reason='Gradio is not installed (pip install "vidstyle[app]")')
    from vidstyle.app.page import Handlers

    share = tmp_path / "share"
    share.mkdir()
    write_clip(share / "shared.mp4", width=48, height=32, fps=10, n_frames=6)
    ws = Workspace(tmp_path)
    yield Handlers(AppConfig(styles_dir=tmp_path / "styles", share_folder=share, max_upload_mb=1), ws)
    ws.close()


def test_page_handlers_run_a_job_and_report_progress(handlers, tmp_path):
    import gradio as gr

    assert [name for _, name in handlers.tiles()] == [s.name for s in bundled_gallery()]
    assert handlers.shared_files() == ["shared.mp4"]
    media = handlers.pick_shared("shared.mp4")
    assert media.path.parent.parent == handlers.workspace.root  # a copy; the shared folder is only read
    calls = []
    video, image, plot, file, line = handlers.run(media, "candy", "reconet", "lite", 0,
                                                  lambda *a, **k: calls.append((a, k)))
    assert video == file and image is None and Path(plot).is_file()
    assert line.startswith("**shared.candy-lite.mp4**: 6 frame(s) in ")
    assert line.endswith("no audio in the input.")
    assert calls[-1][0] == ((6, 6),) and calls[-1][1]["unit"] == "frames"
    assert "frames/s" in calls[-1][1]["desc"]
    with pytest.raises(gr.Error, match="Upload a video or a photo first"):
        handlers.run(None, "candy", "reconet", "full", 0)
    with pytest.raises(gr.Error, match="lite models are ReCoNet networks"):
        handlers.preview(media, "candy", "huang", "lite", 0)
    big = tmp_path / "big.mp4"
    big.write_bytes(b"\0" * (MB + 1))
    with pytest.raises(gr.Error, match=r"big.mp4 is 1.0 MB; this app accepts files up to 1 MB"):
        handlers.load(str(big))
    with pytest.raises(gr.Error, match="not a file of the shared folder"):
        handlers.pick_shared("../share/shared.mp4")
    out = handlers.webcam_frame(np.zeros((600, 800, 3), np.uint8), "candy-lite")
    assert out.shape == (360, 480, 3)


def test_stylize_and_preview_share_one_queue_slot(handlers):
    from vidstyle.app.page import build

    page = build(handlers)
    deps = {fn.name: fn for fn in page.fns.values()}
    work = [fn for name, fn in deps.items() if name in ("on_run", "preview")]
    assert len(work) == 2
    assert {(fn.concurrency_limit, fn.concurrency_id) for fn in work} == {(1, "work")}
