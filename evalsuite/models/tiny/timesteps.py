"""Making a random transformer's timestep embedding behave like a trained one's.

A denoising transformer embeds the timestep as sinusoids of 128 (or so) frequencies, from
one period per ~6 timesteps to one per ~60 000, and feeds them to an MLP whose output
modulates every block. A trained MLP reads mostly the slow sinusoids: its output moves
smoothly with t. A randomly initialised one reads all of them alike, and the fast ones
decorrelate completely between two denoising steps (8 steps are ~125 timesteps apart), so
block 0's residual jumps by 60-150% from step to step and no cache threshold a trained
model would use ever skips. Attenuating the MLP's input columns by frequency keeps the
random weights but gives the step-to-step changes of a trained model (a few % to ~20%,
rising towards the last steps).
"""

from __future__ import annotations

import math
from typing import Any

# Timesteps (in the 0..1000 units every family's sinusoids see) over which a kept feature
# turns by one radian: features faster than this are attenuated as 1 / (1 + (w * CUTOFF)^2).
CUTOFF = 300.0


def low_pass_timestep(linear: Any, start: int = 0, width: int | None = None,
                      max_period: float = 10000.0, cutoff: float = CUTOFF) -> None:
    """Attenuate ``linear``'s input columns fed by fast sinusoidal timestep features, in place.

    ``linear`` is the first layer of a timestep MLP whose input columns ``start`` to
    ``start + width`` (default: all) are diffusers' ``get_timestep_embedding``: two halves
    (cos and sin, in either order) of the same frequencies ``max_period ** (-i / half)``.
    """
    import torch

    width = linear.in_features - start if width is None else width
    half = width // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float64) / half)
    keep = (1.0 / (1.0 + (freqs * cutoff) ** 2)).to(linear.weight.dtype)
    with torch.no_grad():
        linear.weight[:, start:start + 2 * half].mul_(torch.cat([keep, keep]))
