"""The Gradio page of ``vidstyle app``: three tabs over :class:`Handlers`.

:class:`Handlers` holds what one app process shares (workspace, styles, trainer,
webcam models) and has one method per page event, taking and returning plain
values; it raises ``gr.Error`` with the library's one-line message on bad input.
:func:`build` only lays the components out and wires the events: the stylize
and preview events share one queue slot (``concurrency_id="work"``), so one job
runs at a time and the others show their queue position.
"""

from __future__ import annotations

import shutil
import signal
import threading
from dataclasses import dataclass
from pathlib import Path

import gradio as gr
import numpy as np

from vidstyle.app import AppConfig
from vidstyle.app.gallery import Style, gallery, tile
from vidstyle.app.media import MB, Media, first_frame, inspect_media
from vidstyle.app.stylize import (
    RUDER_MAX_FRAMES,
    Job,
    duration_text,
    flicker_plot,
    preview,
    ruder_seconds,
    stylize,
)
from vidstyle.app.training import Trainer, TrainRecipe
from vidstyle.app.workspace import Workspace
from vidstyle.demo import demo_clip
from vidstyle.errors import VidstyleError
from vidstyle.methods import METHODS
from vidstyle.pretrained import MODEL_SIZES, lite_styles
from vidstyle.video import open_source

MAX_SIZES = [("original size", 0), ("1280 px", 1280), ("960 px", 960), ("640 px", 640),
             ("480 px", 480), ("320 px", 320)]
DEFAULT_MAX_SIZE = 640  # the full network runs at ~2 frames/s at 640x360 on 2 CPU cores
WEBCAM_MAX_SIZE = 480
METHOD_NOTES = {  # the page's words for the methods; others get their registry summary
    "reconet": "**reconet**: one network pass per frame, trained not to flicker (ReCoNet).",
    "per-frame": "**per-frame**: the same network trained without the temporal losses; it flickers more.",
    "huang": "**huang**: trained with an output temporal loss only (Huang et al.).",
    "chen": "**chen**: the reconet network plus flow-guided blending of features (PyTorch; slower).",
    "ruder": "**ruder**: optimises every frame against the painting (no network): very slow.",
}


def _fail(e: Exception) -> gr.Error:
    """The library's one-line message as a page error."""
    return gr.Error(str(e).strip().splitlines()[0], duration=None)


class Handlers:
    """The page's events, on one app process's shared state."""

    def __init__(self, config: AppConfig, workspace: Workspace) -> None:
        self.config = config
        self.workspace = workspace
        self.max_bytes = config.max_upload_mb * MB
        inputs = workspace.subfolder("inputs")
        self.demo = Path(shutil.copy(demo_clip(), inputs / "demo.mp4"))
        self.tile_frame = first_frame(inspect_media(self.demo, max_bytes=self.max_bytes))
        frames = _frames_as_photos(self.demo, workspace.subfolder("demo-frames"))
        self.trainer = Trainer(config.styles_dir, frames)
        self._tiles: dict[tuple[str, str], np.ndarray] = {}
        self._webcam: dict[str, object] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ styles

    def styles(self) -> list[Style]:
        return gallery(self.config.styles_dir)

    def style(self, name: str) -> Style:
        for s in self.styles():
            if s.name == name:
                return s
        raise VidstyleError(f"unknown style {name!r}")

    def tiles(self) -> list[tuple[np.ndarray, str]]:
        """``(tile, name)`` of every style, drawn once each."""
        out = []
        for s in self.styles():
            key = (s.name, str(s.model))
            with self._lock:
                if key not in self._tiles:
                    self._tiles[key] = tile(s, self.tile_frame)
            out.append((self._tiles[key], s.name))
        return out

    def method_note(self, style_name: str, method: str, media: Media | None) -> str:
        note = METHOD_NOTES.get(method) or f"**{method}**: {METHODS[method].summary}."
        if method == "ruder":
            frames = media.frames if media is not None else 1
            note += (f" About {duration_text(ruder_seconds(frames))} for {frames} frame(s) on 2 CPU cores;"
                     f" photos and clips of up to {RUDER_MAX_FRAMES} frames only.")
        if not self.style(style_name).bundled:
            note += " Own styles run their own network: the model size does not apply."
        return note

    def select_style(self, names: list[str], index: int, method: str, media: Media | None):
        """A gallery click: the style's name, its methods (keeping ``method`` if it has it)."""
        style = self.style(names[index])
        methods = list(style.methods())
        method = method if method in methods else methods[0]
        return style.name, f"Style: **{style.name}**", gr.Radio(choices=methods, value=method), \
            self.method_note(style.name, method, media)

    # ------------------------------------------------------------------ input

    def load(self, path: str | None) -> Media:
        """An upload or a picked file -> :class:`Media` (raises gr.Error on a bad file)."""
        if path is None:
            raise gr.Error("no file")
        try:
            return inspect_media(path, max_bytes=self.max_bytes)
        except VidstyleError as e:
            raise _fail(e) from None

    def shared_files(self) -> list[str]:
        folder = self.config.share_folder
        if folder is None:
            return []
        return sorted(p.name for p in Path(folder).iterdir() if p.is_file() and not p.name.startswith("."))

    def pick_shared(self, name: str) -> Media:
        """Copy a file of the shared folder into the workspace (the folder is only read)."""
        folder = Path(self.config.share_folder)
        src = folder / name
        if src.parent != folder or not src.is_file():
            raise gr.Error(f"{name} is not a file of the shared folder")
        if src.stat().st_size > self.max_bytes:
            return self.load(str(src))  # raises the size message, nothing copied
        dst = self.workspace.new_run() / src.name
        shutil.copyfile(src, dst)
        return self.load(str(dst))

    # ------------------------------------------------------------------ stylize

    def job(self, media: Media | None, style_name: str, method: str, model_size: str,
            max_size: int) -> Job:
        if media is None:
            raise gr.Error("Upload a video or a photo first (or use the demo clip).")
        job = Job(media, self.style(style_name), method, model_size, int(max_size) or None)
        try:
            job.check()
        except VidstyleError as e:
            raise _fail(e) from None
        return job

    def preview(self, media, style_name, method, model_size, max_size):
        job = self.job(media, style_name, method, model_size, max_size)
        try:
            return preview(job)
        except VidstyleError as e:
            raise _fail(e) from None

    def run(self, media, style_name, method, model_size, max_size, progress=None):
        """Stylize; returns (result video, result photo, flicker plot, download, status line)."""
        job = self.job(media, style_name, method, model_size, max_size)
        run_dir = self.workspace.new_run()

        def report(p) -> None:
            if progress is not None:
                progress((p.frames, p.total or None), desc=p.line(), unit="frames")

        try:
            result = stylize(job, run_dir, report)
        except VidstyleError as e:
            raise _fail(e) from None
        video = media.kind == "video"
        plot = flicker_plot(result, run_dir / "flicker.png") if video and result.output_flicker else None
        status = (f"**{result.output.name}**: {result.frames} frame(s) in {duration_text(result.seconds)} "
                  f"({result.fps:.3g} frames/s)")
        if video:
            status += ", audio kept" if result.has_audio else ", no audio in the input"
        return (str(result.output) if video else None, str(result.output) if not video else None,
                plot, str(result.output), status + ".")

    # ------------------------------------------------------------------ your own style

    def start_training(self, painting, photos, name, model_size, steps) -> str:
        if not painting:
            raise gr.Error("Upload a painting first.")
        recipe = TrainRecipe(model_size=model_size, steps=int(steps))
        try:
            status = self.trainer.start(name or "", Path(painting), [Path(p) for p in photos or []], recipe)
        except VidstyleError as e:
            raise _fail(e) from None
        return status.line()

    def training_status(self, known: list[str]):
        """(status line, latest samples, gallery tiles or no change, style names)."""
        s = self.trainer.status()
        samples = [(str(p), f"step {int(p.stem.split('_')[-1])}") for p in s.samples[-4:]]
        names = [st.name for st in self.styles()]
        tiles = gr.Gallery(value=self.tiles()) if names != known else gr.skip()
        return s.line(), samples, tiles, names

    # ------------------------------------------------------------------ webcam

    def webcam_frame(self, frame: np.ndarray | None, style_name: str) -> np.ndarray | None:
        from vidstyle.api import make_stylizer
        from vidstyle.image import fit_long_side, resize_rgb, to_tensor, to_uint8

        if frame is None:
            return None
        with self._lock:
            if style_name not in self._webcam:
                self._webcam[style_name] = make_stylizer(style_name, "reconet")
            stylizer = self._webcam[style_name]
        rgb = resize_rgb(frame[..., :3], fit_long_side(*frame.shape[:2], WEBCAM_MAX_SIZE), "area")
        return to_uint8(stylizer(to_tensor(np.ascontiguousarray(rgb))))


def _frames_as_photos(video: Path, folder: Path, count: int = 12) -> list[Path]:
    """``count`` frames spread over ``video``, saved as PNG photos (the default training data)."""
    from vidstyle.image import save_image

    with open_source(video) as source:
        frames = [rgb for rgb, _ in source.frames()]
    picks = np.linspace(0, len(frames) - 1, min(count, len(frames))).round().astype(int)
    out = []
    for i in picks:
        save_image(frames[i], folder / f"frame_{i:04d}.png")
        out.append(folder / f"frame_{i:04d}.png")
    return out


def _media_outputs(h: Handlers, media: Media, style_name: str, method: str, note: str = ""):
    """What a new input changes: state, info line, input players, cleared results, method note."""
    video = media.kind == "video"
    info = f"**{media.name}**: {media.describe()}" + (f" {note}" if note else "")
    return (media, info,
            gr.Video(value=str(media.path) if video else None, visible=video),
            gr.Image(value=str(media.path) if not video else None, visible=not video),
            gr.Video(value=None, visible=video), gr.Image(value=None, visible=not video),
            gr.Image(value=None, visible=False), None, "",
            h.method_note(style_name, method, media))


def build(h: Handlers) -> gr.Blocks:
    first = h.styles()[0]
    with gr.Blocks(title="vidstyle", analytics_enabled=False, delete_cache=(600, 3600)) as page:
        gr.Markdown("# vidstyle\nTemporally coherent video style transfer, on this computer.")
        media = gr.State(None)
        style_name = gr.State(first.name)
        names = gr.State([s.name for s in h.styles()])
        with gr.Tab("Stylize"):
            with gr.Row():
                with gr.Column(scale=2):
                    upload = gr.File(label=f"Video or photo (up to {h.config.max_upload_mb} MB)",
                                     file_types=["video", "image"], elem_id="upload")
                    demo_btn = gr.Button("Use the demo clip", size="sm", elem_id="demo-clip")
                    shared = gr.Dropdown(h.shared_files(), value=None, label="Or a file of the shared folder",
                                         visible=h.config.share_folder is not None, elem_id="shared")
                    info = gr.Markdown("No input yet.", elem_id="input-info")
                with gr.Column(scale=3):
                    tiles = gr.Gallery(value=h.tiles(), label="Style (the painting, and the demo clip in it)",
                                       columns=4, height=250, allow_preview=False, object_fit="contain",
                                       elem_id="styles")
                    style_md = gr.Markdown(f"Style: **{first.name}**", elem_id="style-name")
                    with gr.Row():
                        method = gr.Radio(list(first.methods()), value="reconet", label="Method",
                                          elem_id="method")
                        size = gr.Radio(list(MODEL_SIZES), value="full", label="Model size",
                                        elem_id="model-size")
                        max_size = gr.Dropdown(MAX_SIZES, value=DEFAULT_MAX_SIZE,
                                               label="Max size (long side)", elem_id="max-size")
                    note = gr.Markdown(h.method_note(first.name, "reconet", None), elem_id="method-note")
            with gr.Row():
                preview_btn = gr.Button("Preview the first frame", elem_id="preview")
                run_btn = gr.Button("Stylize", variant="primary", elem_id="run")
            with gr.Row():
                preview_in = gr.Image(label="First frame", interactive=False, height=240,
                                      elem_id="preview-in")
                preview_out = gr.Image(label="First frame, stylized", interactive=False, height=240,
                                       elem_id="preview-out")
            with gr.Row():
                in_video = gr.Video(label="Input", interactive=False, elem_id="input-video")
                in_image = gr.Image(label="Input", interactive=False, visible=False, elem_id="input-image")
                out_video = gr.Video(label="Result", interactive=False, elem_id="result-video")
                out_image = gr.Image(label="Result", interactive=False, visible=False, elem_id="result-image")
            flicker = gr.Image(label="Flicker", interactive=False, visible=False, elem_id="flicker")
            download = gr.File(label="Download", interactive=False, height=90, elem_id="download")
            status = gr.Markdown("", elem_id="run-status")

        with gr.Tab("Your own style"):
            gr.Markdown("Upload a painting: `vidstyle train` learns it in the background (reconet preset "
                        "started from the bundled candy network, 128-pixel crops; the lite network "
                        "takes about 0.4 s a step on 2 CPU cores). "
                        "Without photos it learns from frames of the demo clip. The style joins the gallery "
                        "when done.")
            with gr.Row():
                painting = gr.Image(type="filepath", image_mode=None, sources=["upload"], label="Painting",
                                    height=320, elem_id="painting")
                photos = gr.File(file_count="multiple", file_types=["image"],
                                 label="Photos to learn from (optional)", elem_id="photos")
            with gr.Row():
                own_name = gr.Textbox(label="Name", placeholder="my_painting", elem_id="own-name")
                own_size = gr.Radio(list(MODEL_SIZES), value="lite", label="Network", elem_id="own-size")
                steps = gr.Slider(50, 5000, value=TrainRecipe().steps, step=50, label="Steps",
                                  elem_id="steps")
            with gr.Row():
                start_btn = gr.Button("Start training", variant="primary", elem_id="train")
                stop_btn = gr.Button("Stop", elem_id="stop-train")
            train_md = gr.Markdown(h.trainer.status().line(), elem_id="train-status")
            samples = gr.Gallery(label="Samples (photo | result | next photo | result)", columns=1,
                                 height=320, object_fit="contain", elem_id="samples")
            timer = gr.Timer(2.0)

        with gr.Tab("Webcam"):
            gr.Markdown("Live, with a lite model, where the browser gives the page a camera.")
            lite = lite_styles()
            cam_style = gr.Dropdown(lite, value=lite[0] if lite else None, label="Style", elem_id="cam-style")
            with gr.Row():
                cam = gr.Image(sources=["webcam"], streaming=True, type="numpy", label="Camera",
                               elem_id="cam")
                cam_out = gr.Image(label="Stylized", interactive=False, elem_id="cam-out")

        new_input = [media, info, in_video, in_image, out_video, out_image, flicker, download, status, note]

        def on_upload(path, style, m):
            try:
                return _media_outputs(h, h.load(path), style, m)
            except gr.Error as e:
                gr.Warning(e.message)
                return (None, f"**Not usable:** {e.message}", gr.Video(value=None), gr.Image(value=None),
                        gr.Video(value=None), gr.Image(value=None), gr.Image(visible=False), None, "",
                        h.method_note(style, m, None))

        upload.upload(on_upload, [upload, style_name, method], new_input)
        demo_btn.click(lambda s, m: _media_outputs(h, h.load(str(h.demo)), s, m, "(the bundled demo clip)"),
                       [style_name, method], new_input)
        shared.input(lambda n, s, m: _media_outputs(h, h.pick_shared(n), s, m), [shared, style_name, method],
                     new_input)

        def on_select(n, m, md, evt: gr.SelectData):
            return h.select_style(n, evt.index, m, md)

        tiles.select(on_select, [names, method, media], [style_name, style_md, method, note])
        method.change(lambda s, m, md: h.method_note(s, m, md), [style_name, method, media], note)

        work = {"concurrency_limit": 1, "concurrency_id": "work"}
        preview_btn.click(h.preview, [media, style_name, method, size, max_size], [preview_in, preview_out],
                          **work)

        def on_run(md, s, m, z, x, progress=gr.Progress()):
            video_out, image_out, plot, file, line = h.run(md, s, m, z, x, progress)
            return video_out, image_out, gr.Image(value=plot, visible=plot is not None), file, line

        run_btn.click(on_run, [media, style_name, method, size, max_size],
                      [out_video, out_image, flicker, download, status], **work)

        start_btn.click(h.start_training, [painting, photos, own_name, own_size, steps], train_md)
        stop_btn.click(lambda: (h.trainer.stop(), h.trainer.status().line())[1], None, train_md)
        timer.tick(h.training_status, [names], [train_md, samples, tiles, names], concurrency_limit=None,
                   show_progress="hidden")
        cam.stream(h.webcam_frame, [cam, cam_style], cam_out, stream_every=0.2, concurrency_limit=1,
                   concurrency_id="webcam", show_progress="hidden")
    page.queue(default_concurrency_limit=1, max_size=32)
    return page


@dataclass
class RunningApp:
    """A served page: ``url``; ``block()`` until Ctrl-C or SIGTERM; ``close()`` cleans up."""

    page: gr.Blocks
    handlers: Handlers
    workspace: Workspace
    url: str

    def block(self) -> None:
        def interrupt(signum, frame):
            raise KeyboardInterrupt

        previous = signal.signal(signal.SIGTERM, interrupt)
        try:
            self.page.block_thread()
        finally:
            signal.signal(signal.SIGTERM, previous)

    def close(self) -> None:
        try:
            self.handlers.trainer.stop()
            self.page.close()
        finally:
            self.workspace.close()


def start(config: AppConfig, workspace: Workspace) -> RunningApp:
    """Build the page and serve it in the background (the caller closes ``workspace``
    if this raises)."""
    handlers = Handlers(config, workspace)
    page = build(handlers)
    allowed = [str(workspace.root), str(Path(config.styles_dir).resolve())]
    try:
        _, url, _ = page.launch(
            server_name=config.host, server_port=config.port, prevent_thread_lock=True, quiet=True,
            share=False, ssr_mode=False, mcp_server=False, max_file_size=config.max_upload_mb * MB,
            allowed_paths=allowed, theme=gr.themes.Default(), enable_monitoring=False,
        )
    except ValueError as e:
        page.close()
        if "localhost is not accessible" not in str(e):
            raise
        # Gradio asks its own server five times, 3 s each, and offers a public share link
        # when it gets no answer; this app never shares, so say what was seen instead.
        raise VidstyleError(f"the page did not answer at http://{config.host}:{config.port}/ when it "
                            "started (a very busy machine, or a proxy set for local addresses?)") from None
    return RunningApp(page, handlers, workspace, url)
