"""Make the demo clip bundled with the package (src/vidstyle/assets/demo.mp4).

A 3-second excerpt (3.0-6.0 s, a single shot) of *Tears of Steel* (c) 2012 Blender Foundation, CC BY 3.0,
from ../shared/data/videos/tears_of_steel_10s_640x360.mp4, scaled to 320x180.

    python scripts/make_demo_clip.py
"""

from __future__ import annotations

from pathlib import Path

import cv2

from vidstyle.video import VideoReader, VideoWriter

REPO = Path(__file__).resolve().parents[1]
SRC = REPO.parent / "shared" / "data" / "videos" / "tears_of_steel_10s_640x360.mp4"
DST = REPO / "src" / "vidstyle" / "assets" / "demo.mp4"
START, DURATION, SIZE = 3.0, 3.0, (320, 180)  # one shot: cuts at 2.7 s and 7.7 s


def main() -> None:
    reader = VideoReader(SRC, start=START, duration=DURATION)
    with reader, VideoWriter(DST, fps=reader.fps, width=SIZE[0], height=SIZE[1], crf=20) as out:
        for rgb, t in reader.frames():
            out.write(cv2.resize(rgb, SIZE, interpolation=cv2.INTER_AREA), t - START)
    print(f"wrote {DST} ({DST.stat().st_size / 1e3:.0f} kB, {out.frames_written} frames)")


if __name__ == "__main__":
    main()
