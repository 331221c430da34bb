"""The Fréchet distance between two sets of features, each summarised as a Gaussian.

d² = ||mu_x - mu_y||² + tr(S_x + S_y - 2 (S_x S_y)^½), with the sample means and the unbiased
sample covariances (``np.cov(rowvar=False)``): FID's formula (Heusel et al., 2017) and FVD's
(Unterthiner et al., 2018), as StyleGAN-V's ``frechet_video_distance.py`` computes it with
``scipy.linalg.sqrtm``. Here tr((S_x S_y)^½) is the sum of the square roots of the
eigenvalues of S_x S_y (torchmetrics' FID does the same): the product of two PSD matrices has
real, non-negative eigenvalues, and round-off's tiny negative or imaginary parts are dropped
(the real part of the complex square root), which stays finite where ``sqrtm`` of a singular
product (fewer samples than dimensions) warns. Everything in float64.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    import numpy as np
    import torch


class Gaussian(NamedTuple):
    """A feature set's mean [d] and unbiased covariance [d, d]."""

    mean: np.ndarray
    cov: np.ndarray


def gaussian(features: np.ndarray | torch.Tensor) -> Gaussian:
    """The mean and unbiased covariance of features [n, d] (n >= 2)."""
    import numpy as np

    torch = sys.modules.get("torch")  # a tensor implies torch is loaded; never import it here
    if torch is not None and isinstance(features, torch.Tensor):
        features = features.detach().cpu().double().numpy()
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"a Fréchet distance needs features [n >= 2, d], got shape {x.shape}")
    return Gaussian(x.mean(axis=0), np.atleast_2d(np.cov(x, rowvar=False)))


def frechet_distance(x: Gaussian, y: Gaussian) -> float:
    """The squared Fréchet distance between two Gaussians (no square root, as FID and FVD)."""
    import numpy as np

    if x.mean.shape != y.mean.shape:
        raise ValueError(f"feature widths differ: {x.mean.shape[0]} and {y.mean.shape[0]}")
    eig = np.linalg.eigvals(x.cov @ y.cov).astype(np.complex128)
    trace_sqrt = float(np.sqrt(eig).real.sum())
    diff = x.mean - y.mean
    return float(diff @ diff + np.trace(x.cov) + np.trace(y.cov) - 2.0 * trace_sqrt)


def frechet_from_features(x: np.ndarray | torch.Tensor, y: np.ndarray | torch.Tensor) -> float:
    """The Fréchet distance of two feature sets [n, d] and [m, d]."""
    return frechet_distance(gaussian(x), gaussian(y))
