"""The numeric options of the Python API and the command line, each checked by one rule.

:func:`check_option` is what both call: the API on its keyword arguments, the CLI
(through :func:`parse_option`) on the text of its flags, so ``crf=60`` and
``--crf 60`` are refused with the same words::

    check_option("crf", 60)
    # OptionError: crf must be an integer from 0 to 51, got 60
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass

from vidstyle.errors import OptionError


@dataclass(frozen=True)
class Number:
    """An accepted range: ``kind`` int or float, bounds inclusive unless ``open_low``."""

    kind: type
    low: float | None = None
    high: float | None = None
    open_low: bool = False
    unit: str = ""

    def describe(self) -> str:
        what = "an integer" if self.kind is int else "a number"
        if self.unit:
            what += f" of {self.unit}"
        if self.low is not None and self.high is not None:
            return f"{what} from {self.low:g} to {self.high:g}"
        if self.low is not None:
            return f"{what} {'>' if self.open_low else '>='} {self.low:g}"
        return what


OPTIONS: dict[str, Number] = {
    "crf": Number(int, 0, 51),  # H.264's quality scale (mapped to 0-63 for VP9/AV1)
    "max_size": Number(int, 1),  # long side in pixels
    "batch_size": Number(int, 1),  # buffers grow with the frames actually read
    "threads": Number(int, 1),
    "start": Number(float, 0, unit="seconds"),
    "duration": Number(float, 0, open_low=True, unit="seconds"),
    "opset": Number(int, 13, 20),  # ONNX opsets: dynamic Pad/Slice need >= 11; 13+ is tested
    "webcam": Number(int, 0),  # camera index
    "ruder_iters": Number(int, 1),
    "ruder_size": Number(int, 1),
    "ruder_temporal": Number(float, 0),
    "ruder_passes": Number(int, 1),
    "clip_frames": Number(int, 1),
}


def check_option(name: str, value: object) -> int | float:
    """``value`` as the number option ``name`` takes, or :class:`OptionError`.

    Integers must be integers (``True`` and ``2.5`` are refused); numbers must be
    finite.
    """
    rule = OPTIONS[name]
    try:
        if isinstance(value, bool):
            raise TypeError
        if rule.kind is int:
            v: int | float = operator.index(value)
        else:
            v = float(value)
            if not math.isfinite(v):
                raise ValueError
    except (TypeError, ValueError) as e:
        raise OptionError(name, f"must be {rule.describe()}, got {value!r}") from e
    too_low = rule.low is not None and (v <= rule.low if rule.open_low else v < rule.low)
    if too_low or (rule.high is not None and v > rule.high):
        raise OptionError(name, f"must be {rule.describe()}, got {value!r}")
    return v


def parse_option(name: str, text: str) -> int | float:
    """The CLI's reading of option ``name``: parse ``text``, then :func:`check_option`."""
    rule = OPTIONS[name]
    try:
        value = int(text) if rule.kind is int else float(text)
    except ValueError as e:
        raise OptionError(name, f"must be {rule.describe()}, got {text!r}") from e
    return check_option(name, value)


__all__ = ["OPTIONS", "Number", "check_option", "parse_option"]
