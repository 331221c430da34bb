"""torchvision's RAFT for the temporal scorers (dynamic degree, motion smoothness).

VBench runs RAFT from princeton-vl's code with ``raft-things.pth`` (trained on FlyingChairs
then FlyingThings3D). torchvision's ``Raft_Large_Weights.C_T_V1`` are those weights, ported
by torchvision ("C_T_V1: ported from the original paper's implementation"), in torchvision's
own state-dict layout; ``weights`` takes a local copy of that state dict instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from metrics._weights import TORCH_CACHE_ENV, loading
from metrics.base import BaseScorer, Kind, Modality

if TYPE_CHECKING:
    import torch

ARCHITECTURES = ("raft_large", "raft_small")
# VBench's RAFT call: raft(image1, image2, iters=20, test_mode=True) (vbench/dynamic_degree.py).
ITERS = 20
MIN_SIDE = 128  # torchvision's RAFT refuses smaller frames (see ``flow``)


def check_architecture(arch: str) -> str:
    if arch not in ARCHITECTURES:
        raise ValueError(f"unknown RAFT architecture {arch!r} (known: {', '.join(ARCHITECTURES)})")
    return arch


def default_weights(arch: str) -> Any:
    """torchvision's Chairs+Things weights of ``arch`` (raft_large: the original raft-things)."""
    from torchvision.models import optical_flow

    enum = optical_flow.Raft_Large_Weights if arch == "raft_large" else optical_flow.Raft_Small_Weights
    return enum.C_T_V1  # raft_small: torchvision's own training, Chairs + Things


def weights_source(arch: str, weights: str | None) -> str:
    """What the identity records: the local file, or torchvision's weights URL."""
    return weights if weights is not None else default_weights(arch).url


def load_raft(scorer: str, arch: str, weights: str | None, device: str) -> torch.nn.Module:
    """Build torchvision's RAFT ``arch`` and load its weights (a local state dict or the enum)."""
    import torch
    from torchvision.models import optical_flow

    model = getattr(optical_flow, arch)(weights=None)
    with loading(scorer, weights or f"torchvision {arch} weights", "weights", TORCH_CACHE_ENV):
        if weights is not None:
            state = torch.load(weights, map_location="cpu", weights_only=True)
        else:
            state = default_weights(arch).get_state_dict(progress=False)
    model.load_state_dict(state, strict=True)
    return model.to(device).eval()


def pad_to(*frames: torch.Tensor, divisor: int = 8) -> tuple[list[torch.Tensor], tuple[int, int, int, int]]:
    """The ``InputPadder`` of RAFT (sintel mode, divisor 8) and of AMT (divisor 16):
    replicate-pad H and W up to a multiple of ``divisor``, split evenly with the extra pixel
    after; returns the padded frames and the pad (left, right, top, bottom)."""
    import torch.nn.functional as F

    ht, wd = frames[0].shape[-2:]
    pad_ht = (((ht // divisor) + 1) * divisor - ht) % divisor
    pad_wd = (((wd // divisor) + 1) * divisor - wd) % divisor
    pad = (pad_wd // 2, pad_wd - pad_wd // 2, pad_ht // 2, pad_ht - pad_ht // 2)
    return [F.pad(f, pad, mode="replicate") for f in frames], pad


def unpad(x: torch.Tensor, pad: tuple[int, int, int, int]) -> torch.Tensor:
    """Crop what :func:`pad_to` added."""
    ht, wd = x.shape[-2:]
    return x[..., pad[2] : ht - pad[3], pad[0] : wd - pad[1]]


def flow(model: torch.nn.Module, a: torch.Tensor, b: torch.Tensor, iters: int = ITERS) -> torch.Tensor:
    """RAFT's final flow from ``a`` to ``b`` (float [N, 3, H, W] in 0..255, H and W multiples
    of 8): torchvision's RAFT takes [-1, 1], as the original RAFT normalises internally.

    RAFT's correlation pyramid (four levels over 1/8-resolution features) needs both sides
    of at least ``MIN_SIDE`` = 128 px. Smaller frames (tiny test clips; VBench's are 256 px
    and up) are upscaled bilinearly until both sides reach it (multiples of 8), and the
    flow is resized back to the input's size with its vectors scaled to its pixels.
    """
    import math

    import torch.nn.functional as F

    h, w = a.shape[-2:]
    if min(h, w) >= MIN_SIDE:
        return model(a / 127.5 - 1.0, b / 127.5 - 1.0, num_flow_updates=iters)[-1]
    scale = MIN_SIDE / min(h, w)
    size = (math.ceil(h * scale / 8) * 8, math.ceil(w * scale / 8) * 8)
    up = [F.interpolate(x, size=size, mode="bilinear", align_corners=False) for x in (a, b)]
    f = model(up[0] / 127.5 - 1.0, up[1] / 127.5 - 1.0, num_flow_updates=iters)[-1]
    f = F.interpolate(f, size=(h, w), mode="bilinear", align_corners=False)
    return f * f.new_tensor([w / size[1], h / size[0]]).view(1, 2, 1, 1)


class RaftScorer(BaseScorer):
    """A per-clip video scorer on torchvision's RAFT: options ``model`` and ``weights``.

    Args:
        device: Torch device.
        model: "raft_large" (VBench's RAFT, default) or "raft_small" (torchvision's).
        weights: Path of a torchvision RAFT state dict; default torchvision's Chairs+Things
            weights through torch.hub's cache (raft_large: the ported raft-things.pth).
    """

    preload = ("torchvision.models.optical_flow",)
    higher_is_better = True
    kind = Kind.PER_IMAGE
    modality = Modality.VIDEO
    batch_size = 4
    describe_model = "torchvision {arch}"  # how identities name the model

    def __init__(self, device: str = "cpu", model: str = "raft_large", weights: str | None = None) -> None:
        super().__init__(device)
        self.arch, self.weights = check_architecture(model), weights
        self._model: Any = None

    def identity(self) -> dict[str, Any]:
        return {**super().identity(), "model": self.describe_model.format(arch=self.arch),
                "revision": weights_source(self.arch, self.weights), "dtype": "float32"}

    def raft(self) -> torch.nn.Module:
        """The RAFT model, loaded on first use."""
        if self._model is None:
            self._model = load_raft(self.name, self.arch, self.weights, self.device)
        return self._model
