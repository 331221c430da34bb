"""Named metric sets for ``[metrics] use``: ``use = ["@inferbench"]`` expands to a preset.

Plain names, no imports of the scorers: suite validation stays free of torch.
"""

from __future__ import annotations

from collections.abc import Sequence

#: Preset name -> (description, metric names in report order).
METRIC_PRESETS: dict[str, tuple[str, tuple[str, ...]]] = {
    "inferbench": (
        "the flagship set: preference, alignment, quality, distribution, GenEval and fidelity",
        ("image_reward", "clip_score", "pickscore", "geneval", "clip_iqa", "arniqa", "sharpness",
         "cmmd", "lpips", "psnr", "ssim"),
    ),
    "fidelity": ("weight-free fidelity to the baseline image", ("sharpness", "psnr", "ssim")),
}


def expand_metric_presets(use: Sequence[str]) -> list[str]:
    """``use`` with every ``@preset`` replaced by its metrics, duplicates dropped, order kept.

    Raises:
        KeyError: An unknown preset (the message lists the known ones).
    """
    out: list[str] = []
    for name in use:
        if name.startswith("@"):
            if name[1:] not in METRIC_PRESETS:
                known = ", ".join("@" + p for p in METRIC_PRESETS)
                raise KeyError(f"unknown metric preset {name!r} (known: {known})")
            out.extend(METRIC_PRESETS[name[1:]][1])
        else:
            out.append(name)
    return list(dict.fromkeys(out))
