"""Evaluation: temporal stability (e_stab, warping error), flicker, style and content fidelity."""

from vidstyle.eval.metrics import (
    CONTENT_LAYER,
    StyleReference,
    content_distance,
    content_distances,
    e_stab,
    e_stab_pairs,
    mean_abs_frame_difference,
    pair_stability_error,
    pair_stability_errors,
    stability_error_map,
    style_distance,
    warping_error,
    warping_errors,
)

__all__ = [
    "CONTENT_LAYER",
    "StyleReference",
    "content_distance",
    "content_distances",
    "e_stab",
    "e_stab_pairs",
    "mean_abs_frame_difference",
    "pair_stability_error",
    "pair_stability_errors",
    "stability_error_map",
    "style_distance",
    "warping_error",
    "warping_errors",
]
