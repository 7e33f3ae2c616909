"""Train the bundled models with the recipe of docs/recipe.md and copy them into the
package as fp16.

    python scripts/train_bundled.py                       # every model, one after another
    python scripts/train_bundled.py --only candy.reconet  # some of them
    python scripts/train_bundled.py --print               # the `vidstyle train` commands only
    python scripts/train_bundled.py --continue --minutes 10 --only mosaic.reconet
                                                          # more training for a bundled model

Each full model is one `vidstyle train` command line, the same a user would type: a warm
start (``--init``) from the model bundled before it (so a model keeps improving across runs,
and a lost ``runs/`` folder costs only the current run), a wall-clock budget
(``--minutes``; a step count, ``--steps``, for the comparison models) and the recipe's weights
and scales. Run folders go to
``runs/<style>.<method>/``; an interrupted run is resumed (``--resume``); a finished run is
only exported (it says so: move its folder aside, or pass ``--runs``, to train it again, as for
a second ``--continue`` stage). A model may have phases before its own run (``Model.before``), each one
command in ``runs/<style>.<method>.<label>/`` whose model.pt the next one starts from: the
``-lite`` models are distilled from the full model of their style first (so train those
after it), then trained with the VGG losses. Data: the shared photos with synthetic camera
and layer motion.
"""

from __future__ import annotations

import argparse
import platform
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
PRETRAINED = REPO / "src" / "vidstyle" / "pretrained"

# The recipe (docs/recipe.md): 256x256 crops, batch 1, Adam with a cosine schedule over
# the time budget, the style image at 384 px, style weight x30 and temporal weights x10 the
# preset's. (candy's 65-minute run used style 1e-4; docs/recipe.md has the history of each model.)
RECIPE = ["--size", "256", "--batch-size", "1", "--lr", "1e-3", "--style-size", "384",
          "--style-weight", "3e-4", "--workers", "1",
          "--checkpoint-every", "50", "--sample-every", "100", "--val-every", "50"]
# The temporal weight, for the presets that have a temporal loss (not per-frame).
TEMPORAL = ["--temporal-weight", "50000"]
# The stability stage (docs/recipe.md, "Blur and shading between the frames"): the two frames
# of a pair blurred by their own amounts (sigma up to 3 px) and the current one shaded (gain
# 1 +- 0.3), so that the temporal loss sees the changes besides motion that real footage has.
STABILITY = ["--frame-blur", "3", "--frame-shading", "0.3"]
# The lite recipe measured on the_scream-lite (docs/recipe.md, "Lite models"): after a distillation
# phase (LITE_DISTILL), the VGG losses alone on 128x128 crops (about 0.6 s a step for the lite
# network), temporal weight 20000 (x4).
LITE = ["--size", "128", "--temporal-weight", "20000"]

# A lite model's first phase (docs/recipe.md, "Lite models"): distillation alone, no VGG
# (about 0.7 s a step), from candy-lite; the model's own entry (LITE) then starts from it.
LITE_DISTILL = ["--distill", "5000", "--content-weight", "0", "--style-weight", "0"]
# A lite model's optional third phase: the second phase's settings at style weight 6e-4 (x2),
# measured on udnie-lite (docs/recipe.md).
LITE_BOOST = ["--style-weight", "6e-4"]


@dataclass(frozen=True)
class Phase:
    """A run before a model's own: trained in ``runs/<name>.<preset>.<label>/`` from the
    model's init; the model's own run then starts from this run's model.pt."""

    label: str
    minutes: float
    extra: list[str]


@dataclass(frozen=True)
class Model:
    name: str
    style: str  # file in shared/data/styles
    preset: str
    init: str  # bundled model the first run starts from (see _init_spec)
    minutes: float
    extra: list[str] = field(default_factory=list)
    before: tuple[Phase, ...] = ()
    # A step count instead of the wall-clock budget: the comparison models match candy
    # reconet's compute (its 65 minutes were 1048 steps) on any machine, however fast.
    steps: int = 0
    # The output contrast the bundled file keeps, scaled about the painting's mean colour at
    # export (ReCoNetConfig.contrast): 1 for most; below 1 where the full contrast misses
    # e_stab 0.09 and the lower one still meets the style target (docs/recipe.md).
    contrast: float = 1.0

    @property
    def key(self) -> str:
        return f"{self.name}.{self.preset}"


def lite(full: Model, minutes: float = 15, boost: float = 0, contrast: float = 1.0) -> Model:
    """The lite model of a full reconet model by the two-phase lite recipe: 9 minutes of
    distillation from ``full``, then ``minutes`` of the VGG losses on 128x128 crops. With
    ``boost``, those become a phase (``vgg``) and the model's own run is ``boost`` minutes more
    at twice the style weight (LITE_BOOST)."""
    distill = Phase("distill", 9, ["--teacher", full.name, *LITE_DISTILL])
    name = f"{full.name}-lite"
    if boost:
        vgg = Phase("vgg", minutes, LITE)
        return Model(name, full.style, "reconet", "candy-lite", boost, LITE + LITE_BOOST, (distill, vgg),
                     contrast=contrast)
    return Model(name, full.style, "reconet", "candy-lite", minutes, LITE, (distill,), contrast=contrast)


FULL = [
    Model("candy", "candy.jpg", "reconet", "candy", 65),
    # The comparison models (README, "How the methods compare"): candy's budget in steps.
    # The bundled per-frame candy made 1015 steps in its 65 minutes.
    Model("candy", "candy.jpg", "per-frame", "candy.per-frame", 65, steps=1015),
    Model("candy", "candy.jpg", "huang", "candy.huang", 65, steps=1048),
    Model("mosaic", "mosaic.jpg", "reconet", "mosaic", 65),
    Model("starry_night", "vangogh_starry_night.jpg", "reconet", "starry_night", 65),
    Model("great_wave", "hokusai_great_wave.jpg", "reconet", "great_wave", 65),
    # Four more styles (issue #10 point 4), each started from candy's network (see _init_spec).
    Model("the_scream", "munch_the_scream.jpg", "reconet", "the_scream", 60),
    Model("udnie", "picabia_udnie.jpg", "reconet", "udnie", 60),
    Model("composition_vii", "kandinsky_composition_vii.jpg", "reconet", "composition_vii", 60,
          contrast=0.86),
    Model("shipwreck", "turner_shipwreck_of_the_minotaur.jpg", "reconet", "shipwreck", 60),
]
# Then the lite model of each full reconet model (its teacher, so trained before it). Where the
# two phases left a lite model above 1.1x of its full model's style distance, a third phase at
# twice the style weight (docs/recipe.md, "The lite recipe on the other styles").
LITE_BOOSTED = {"the_scream", "udnie", "composition_vii"}
LITE_CONTRAST = {"composition_vii": 0.85}
MODELS = FULL + [lite(m, boost=10 if m.name in LITE_BOOSTED else 0,
                      contrast=LITE_CONTRAST.get(m.name, 1.0))
                 for m in FULL if m.preset == "reconet"]
# Where each style image comes from (see shared/data/SOURCES.md).
STYLE_SOURCES = {
    "candy.jpg": "pytorch/examples fast_neural_style/images/style-images/candy.jpg "
    "(BSD-3 repository; artist unknown)",
    "mosaic.jpg": "pytorch/examples fast_neural_style/images/style-images/mosaic.jpg "
    "(BSD-3 repository; artist unknown)",
    "vangogh_starry_night.jpg": "Vincent van Gogh, The Starry Night (1889), public domain; "
    "file from jcjohnson/neural-style (MIT)",
    "hokusai_great_wave.jpg": "Katsushika Hokusai, The Great Wave off Kanagawa (c.1831), "
    "public domain; file from jcjohnson/fast-neural-style",
    "munch_the_scream.jpg": "Edvard Munch, The Scream (1893), public domain; "
    "file from jcjohnson/neural-style (MIT)",
    "picabia_udnie.jpg": "Francis Picabia, Udnie (1913), public domain; "
    "file from jcjohnson/fast-neural-style",
    "kandinsky_composition_vii.jpg": "Wassily Kandinsky, Composition VII (1913), public domain; "
    "file from jcjohnson/fast-neural-style",
    "turner_shipwreck_of_the_minotaur.jpg": "J. M. W. Turner, The Shipwreck of the Minotaur "
    "(c.1810), public domain; file from jcjohnson/neural-style (MIT)",
}


def _init_spec(init: str) -> list[str]:
    """``candy.per-frame`` -> the bundled per-frame candy file; ``candy`` -> its reconet;
    ``PATH.pt`` -> that model file;
    a style not bundled yet -> the recipe's start of its network size (``RECIPE_INIT``:
    candy or candy-lite), as for ``vidstyle train`` without ``--init``."""
    from vidstyle.errors import VidstyleError
    from vidstyle.pretrained import is_lite, resolve_model
    from vidstyle.training.config import RECIPE_INIT

    if init.endswith(".pt"):  # a model file (e.g. a run's model.pt), as it is
        return ["--init", str(resolve_model(init))]
    style, _, method = init.partition(".")
    try:
        return ["--init", str(resolve_model(style, method or "reconet"))]
    except VidstyleError:
        start = RECIPE_INIT["lite" if is_lite(style) else "full"]
        return ["--init", str(resolve_model(start, method or "reconet"))]


def command(style: str, preset: str, minutes: float, extra: list[str], run: Path,
            start: list[str], steps: int = 0) -> list[str]:
    """The `vidstyle train` arguments of one run: resumed if ``run`` holds an unfinished
    checkpoint, else started from ``start`` (``--init ...``). ``steps`` replaces the
    ``minutes`` budget with a step count."""
    from vidstyle.training.config import preset_config
    from vidstyle.training.loop import CHECKPOINT, MODEL

    temporal = TEMPORAL if preset_config(preset).weights.temporal_output else []
    args = ["train", "--style", str(DATA / "styles" / style), "--data", f"photos:{DATA / 'photos'}",
            "--preset", preset, "-o", str(run),
            *(["--steps", str(steps)] if steps else ["--minutes", str(minutes)]), *RECIPE, *temporal,
            *extra]

    resume = (run / CHECKPOINT).is_file() and not (run / MODEL).is_file()
    return args + ["--resume"] if resume else args + start


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", action="append", help="NAME.METHOD to train (repeatable)")
    ap.add_argument("--runs", default=str(REPO / "runs"))
    ap.add_argument("--print", action="store_true", help="print the commands, run nothing")
    ap.add_argument("--no-export", action="store_true")
    ap.add_argument("--init", help="warm-start from this bundled model (or a .pt file) instead of "
                    "the model's own (e.g. a weak model restarted from another style's: --init candy)")
    ap.add_argument("--continue", dest="cont", action="store_true",
                    help="more training for the bundled models: each model's own run starts from "
                    "its bundled file, without the phases before it (e.g. a new recipe stage)")
    ap.add_argument("--stability", action="store_true",
                    help="the stability stage: the models' own runs train on blurred and shaded "
                    "pairs (STABILITY); with --continue, a last stage for a bundled model")
    ap.add_argument("--minutes", type=float, help="override the budget of the models' own runs "
                    "(not of the phases before them; replaces a model's step count too)")
    ap.add_argument("--steps", type=int, help="train the models' own runs for this many steps "
                    "instead of their budgets (not the phases before them)")
    ap.add_argument("--style-weight", help="override the recipe's style weight (the model's own run)")
    ap.add_argument("--style-size", help="override the recipe's style image size (the model's own run)")
    ap.add_argument("--contrast-only", action="store_true",
                    help="train nothing: rewrite the bundled files with each model's contrast "
                         "(Model.contrast), e.g. after changing it")
    ap.add_argument("--snapshot-every", type=int, default=0,
                    help="keep an fp16 model every N steps (for benchmarks/curve.py)")
    args = ap.parse_args()

    from vidstyle.cli import main as vidstyle
    from vidstyle.models import load_checkpoint
    from vidstyle.training.loop import MODEL

    todo = [m for m in MODELS if not args.only or m.key in args.only]
    if args.only and len(todo) != len(args.only):
        known = ", ".join(m.key for m in MODELS)
        print(f"unknown model in --only; known: {known}", file=sys.stderr)
        return 1
    for m in todo:
        if args.contrast_only:
            dst = PRETRAINED / f"{m.name}.{m.preset}.pt"
            model, ckpt = load_checkpoint(dst)
            export(dst, model, dict(ckpt["meta"]), m)
            continue
        minutes = args.minutes or m.minutes
        extra = list(m.extra)
        if args.style_weight:
            extra += ["--style-weight", args.style_weight]  # the last value wins
        if args.style_size:
            extra += ["--style-size", args.style_size]
        if args.stability:
            extra += STABILITY
        if args.snapshot_every:
            extra += ["--snapshot-every", str(args.snapshot_every)]
        start = _init_spec(args.init or (m.key if args.cont else m.init))
        # the model's own run only, not its phases
        steps = args.steps or (0 if args.minutes else m.steps)
        phases = () if args.cont else m.before
        runs = [(Path(args.runs) / f"{m.key}.{ph.label}", ph.minutes, ph.extra, 0) for ph in phases]
        runs.append((Path(args.runs) / m.key, minutes, extra, steps))
        for run, run_minutes, run_extra, run_steps in runs:
            argv = command(m.style, m.preset, run_minutes, run_extra, run, start, run_steps)
            start = ["--init", str(run / MODEL)]  # the next run starts from this one
            if args.print:
                print("vidstyle " + shlex.join(argv))
            elif (run / MODEL).is_file():
                print(f"== {run.name}: finished before ({run / MODEL}), not trained again; "
                      "move that folder aside (or pass --runs) to train it again", flush=True)
            else:
                run.parent.mkdir(parents=True, exist_ok=True)
                print(f"== {run.name}: vidstyle {shlex.join(argv)}", flush=True)
                if vidstyle(argv) != 0:
                    return 1
        if args.print or args.no_export:
            continue
        model, ckpt = load_checkpoint(run / MODEL)
        meta = dict(ckpt["meta"])
        budget = (f"{steps} steps" if steps else
                  " + ".join(f"{b:g}" for _, b, _, _ in runs) + " min budget")
        if args.cont:
            budget += ", continued from the bundled model"
        meta.update(name=m.name, method=m.preset, style_source=STYLE_SOURCES.get(m.style, ""),
                    trained_on=f"{platform.machine()} CPU, {budget}")
        export(PRETRAINED / f"{m.name}.{m.preset}.pt", model, meta, m)
    return 0


def export(dst: Path, model, meta: dict, m: Model) -> None:
    """Write ``model`` to ``dst`` as fp16 with ``m``'s output contrast about the painting's
    mean colour (the network itself is the trained one, at full contrast)."""
    from vidstyle.image import load_image
    from vidstyle.models import save_checkpoint
    from vidstyle.models.reconet import with_contrast

    pivot = model.config.without_contrast().pivot  # unused at contrast 1
    if m.contrast != 1.0:
        pivot = load_image(DATA / "styles" / m.style).mean(dim=(-2, -1)).flatten().tolist()
    model = with_contrast(model, m.contrast, pivot)  # replaces any contrast the model had
    save_checkpoint(dst, model, meta=meta, half=True)
    print(f"exported {dst} ({dst.stat().st_size / 1e6:.1f} MB, contrast {m.contrast:g})", flush=True)


if __name__ == "__main__":
    sys.exit(main())
