"""Write the paintings shown in the gallery of ``vidstyle app``.

For every bundled style (the lite models share their full model's painting) this
reads the style image named in the model's metadata (``style_image``) from the
shared style folder, scales its long side to 384 px and writes
``src/vidstyle/app/paintings/<style>.jpg``. Sources and licences: NOTICE.

    python scripts/app_paintings.py [--styles ../shared/data/styles]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image

from vidstyle.models.checkpoint import read_checkpoint
from vidstyle.pretrained import LITE_SUFFIX, bundled_models

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "src" / "vidstyle" / "app" / "paintings"
LONG_SIDE = 384


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--styles", default=str(REPO.parent / "shared" / "data" / "styles"),
                   help="folder of the style images the bundled models were trained on")
    args = p.parse_args()
    OUT.mkdir(exist_ok=True)
    done = set()
    for (style, _), path in sorted(bundled_models().items()):
        name = style.removesuffix(LITE_SUFFIX)
        if name in done:
            continue
        source = Path(args.styles) / read_checkpoint(path)["meta"]["style_image"]
        with Image.open(source) as im:
            im = im.convert("RGB")
            im.thumbnail((LONG_SIDE, LONG_SIDE), Image.LANCZOS)
            im.save(OUT / f"{name}.jpg", quality=88)
        done.add(name)
        print(f"{name}: {source.name} -> {OUT / (name + '.jpg')}")


if __name__ == "__main__":
    main()
