"""``vidstyle app``: a local web page to stylize videos, photos and the webcam.

The page (Gradio, the optional extra ``pip install "vidstyle[app]"``) is a thin
face over the library, one concern per module:

* :mod:`~vidstyle.app.media`: an upload checked once (size limit, a readable video
  or photo) into a :class:`~vidstyle.app.media.Media`, or one clear error line;
* :mod:`~vidstyle.app.gallery`: the bundled and own styles, their tiles, and which
  model a style, method and model size stand for;
* :mod:`~vidstyle.app.stylize`: a run through :func:`vidstyle.pipeline.stylize_path`
  with progress (frames, frames/s, time left), preview and flicker plot;
* :mod:`~vidstyle.app.training`: ``vidstyle train`` in a background process;
* :mod:`~vidstyle.app.workspace`: the per-process temporary folder, cleaned;
* :mod:`~vidstyle.app.page`: the Gradio page, the only module that imports Gradio.

Only this process's temporary folder, the styles folder and (read only) the
shared folder are touched. The page binds to 127.0.0.1 unless told otherwise,
runs one stylization at a time (others wait in a queue that shows their
position), never phones home (Gradio analytics off, no assets from CDNs).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from vidstyle.errors import VidstyleError

INSTALL_HINT = 'vidstyle app needs the app extra: pip install "vidstyle[app]"'


@dataclass(frozen=True)
class AppConfig:
    """Settings of ``vidstyle app`` (the command's options)."""

    host: str = "127.0.0.1"  # 0.0.0.0 would expose the page to the network
    port: int = 7860
    share_folder: Path | None = None  # videos and photos offered besides uploads (read only)
    styles_dir: Path = Path("vidstyle-styles")  # own styles trained on the page
    max_upload_mb: int = 500  # larger uploads are refused with a message
    temp_parent: Path | None = None  # where the temporary folder goes (default: the system's)


def check_config(config: AppConfig) -> None:
    """One clear error for options that cannot work, before anything starts."""
    if not 0 < config.port < 65536:
        raise VidstyleError(f"--port must be between 1 and 65535, got {config.port}")
    if config.share_folder is not None and not Path(config.share_folder).is_dir():
        raise VidstyleError(f"--share-folder {config.share_folder} is not a folder")
    if config.max_upload_mb < 1:
        raise VidstyleError(f"--max-upload-mb must be at least 1, got {config.max_upload_mb}")
    parent = Path(config.styles_dir).resolve().parent
    if not parent.is_dir():
        raise VidstyleError(f"--styles-dir {config.styles_dir}: {parent} does not exist")


def start_app(config: AppConfig):
    """Check the options, build the page and serve it in the background.

    Returns a :class:`~vidstyle.app.page.RunningApp`: its ``url``, ``block()`` (until
    Ctrl-C or SIGTERM) and ``close()`` (stops a running training, the server, and
    removes the temporary folder). Raises :class:`VidstyleError` with the install
    line when Gradio is missing.
    """
    from vidstyle.app.workspace import Workspace

    check_config(config)
    workspace = Workspace(config.temp_parent)
    try:
        # Set before Gradio is imported: no telemetry or version check, and its uploads
        # and copies of results go to the workspace; so does vidstyle's ONNX cache.
        os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
        os.environ["GRADIO_TEMP_DIR"] = str(workspace.subfolder("gradio"))
        os.environ.setdefault("VIDSTYLE_CACHE", str(workspace.subfolder("cache")))
        try:
            import gradio  # noqa: F401
        except ImportError:
            raise VidstyleError(INSTALL_HINT) from None
        from vidstyle.app.page import start

        return start(config, workspace)
    except BaseException:
        workspace.close()
        raise


__all__ = ["INSTALL_HINT", "AppConfig", "check_config", "start_app"]
