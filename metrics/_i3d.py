"""The Kinetics-400 Inception-v1 I3D (Carreira & Zisserman, 2017) that FVD embeds clips with.

The module tree and state-dict names are pytorch-i3d's (piergiaj/pytorch-i3d,
``pytorch_i3d.py``: ``Conv3d_1a_7x7.conv3d.weight``, ``Mixed_3b.b1b.bn.running_var``, ...,
``logits.conv3d.bias``), which is also the layout of VideoGPT's port
(wilson1yan/VideoGPT ``videogpt/fvd/pytorch_i3d.py``) and of its converted Kinetics-400
checkpoint ``i3d_pretrained_400.pt``, the one VideoGPT and
``common_metrics_on_video_quality`` (its ``fvd/videogpt``) compute FVD with. So that file loads
unchanged; pytorch-i3d's ``models/rgb_imagenet.pt`` has the same names (it was converted with
BatchNorm eps 1e-3 instead of VideoGPT's 1e-5, see :data:`BN_EPS`).

What the port does, kept here: TensorFlow's "SAME" padding computed per input size (zeros,
also before max-pooling: every pooled input follows a ReLU, so zero padding equals TF's
-inf), BatchNorm eps 1e-5, the 2x7x7 average pool of the last 7x7 map, the 1x1x1 logits
convolution, and the logits averaged over the remaining time steps: one 400-d vector per clip
(VideoGPT's ``InceptionI3d.forward``). Those logits are FVD's features, as the original
TF-Hub FVD uses the I3D's logits.

Imports torch: scorer modules import this one inside the functions that compute
(metrics/base.py).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

BN_EPS = 1e-5  # VideoGPT's port (i3d_pretrained_400.pt); pytorch-i3d's own is 1e-3
#: Each Inception block's branch widths: 1x1 | 1x1 -> 3x3x3 | 1x1 -> 3x3x3 | pool -> 1x1.
MIXED: dict[str, tuple[int, int, int, int, int, int]] = {
    "Mixed_3b": (64, 96, 128, 16, 32, 32),
    "Mixed_3c": (128, 128, 192, 32, 96, 64),
    "Mixed_4b": (192, 96, 208, 16, 48, 64),
    "Mixed_4c": (160, 112, 224, 24, 64, 64),
    "Mixed_4d": (128, 128, 256, 24, 64, 64),
    "Mixed_4e": (112, 144, 288, 32, 64, 64),
    "Mixed_4f": (256, 160, 320, 32, 128, 128),
    "Mixed_5b": (256, 160, 320, 32, 128, 128),
    "Mixed_5c": (384, 192, 384, 48, 128, 128),
}
#: (endpoint, kernel, stride) of the stem's and the between-block max pools, in order.
POOLS = {"MaxPool3d_2a_3x3": ((1, 3, 3), (1, 2, 2)), "MaxPool3d_3a_3x3": ((1, 3, 3), (1, 2, 2)),
         "MaxPool3d_4a_3x3": ((3, 3, 3), (2, 2, 2)), "MaxPool3d_5a_2x2": ((2, 2, 2), (2, 2, 2))}
ORDER = ("Conv3d_1a_7x7", "MaxPool3d_2a_3x3", "Conv3d_2b_1x1", "Conv3d_2c_3x3", "MaxPool3d_3a_3x3",
         "Mixed_3b", "Mixed_3c", "MaxPool3d_4a_3x3", "Mixed_4b", "Mixed_4c", "Mixed_4d", "Mixed_4e",
         "Mixed_4f", "MaxPool3d_5a_2x2", "Mixed_5b", "Mixed_5c")
SIZE = 224  # the input side: the final 7x7 map is what the 2x7x7 average pool expects
MIN_FRAMES = 9  # strides 2, 2, 2 in time leave >= 2 steps for the pool's temporal 2 from 9 frames


def same_pad(size: tuple[int, ...], kernel: tuple[int, ...], stride: tuple[int, ...]) -> tuple[int, ...]:
    """TF "SAME" padding for an input of ``size`` (t, h, w), as ``F.pad`` takes it (w first).

    Total ``max(k - s, 0)`` when ``s`` divides the size, else ``max(k - size % s, 0)``; the
    smaller half before (pytorch-i3d's ``compute_pad``), so the output is ceil(size / s).
    """
    pad: list[int] = []
    for n, k, s in zip(reversed(size), reversed(kernel), reversed(stride), strict=True):
        total = max(k - s, 0) if n % s == 0 else max(k - n % s, 0)
        pad += [total // 2, total - total // 2]
    return tuple(pad)


def _width(channels: int, width: float) -> int:
    return max(1, round(channels * width))


class Unit3D(nn.Module):
    """Conv3d (no bias) + BatchNorm + ReLU with TF SAME padding (pytorch-i3d's ``Unit3D``);
    the logits layer has a bias and neither BatchNorm nor activation."""

    def __init__(self, cin: int, cout: int, kernel: tuple[int, int, int],
                 stride: tuple[int, int, int] = (1, 1, 1), logits: bool = False) -> None:
        super().__init__()
        self.kernel, self.stride, self.is_logits = kernel, stride, logits
        self.conv3d = nn.Conv3d(cin, cout, kernel, stride, padding=0, bias=logits)
        if not logits:
            self.bn = nn.BatchNorm3d(cout, eps=BN_EPS, momentum=0.001)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv3d(F.pad(x, same_pad(tuple(x.shape[2:]), self.kernel, self.stride)))
        return x if self.is_logits else F.relu(self.bn(x))


class MaxPool3dSamePadding(nn.MaxPool3d):
    """Max pool with TF SAME zero padding (pytorch-i3d's class of that name)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pad = same_pad(tuple(x.shape[2:]), self.kernel_size, self.stride)  # type: ignore[arg-type]
        return super().forward(F.pad(x, pad))


class InceptionModule(nn.Module):
    """Four branches concatenated on channels (names ``b0``, ``b1a``/``b1b``, ``b2a``/``b2b``,
    ``b3a``/``b3b`` as pytorch-i3d's)."""

    def __init__(self, cin: int, widths: tuple[int, ...]) -> None:
        super().__init__()
        c0, c1a, c1b, c2a, c2b, c3 = widths
        one, three = (1, 1, 1), (3, 3, 3)
        self.b0 = Unit3D(cin, c0, one)
        self.b1a, self.b1b = Unit3D(cin, c1a, one), Unit3D(c1a, c1b, three)
        self.b2a, self.b2b = Unit3D(cin, c2a, one), Unit3D(c2a, c2b, three)
        self.b3a, self.b3b = MaxPool3dSamePadding(three, (1, 1, 1)), Unit3D(cin, c3, one)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.b0(x), self.b1b(self.b1a(x)), self.b2b(self.b2a(x)),
                          self.b3b(self.b3a(x))], dim=1)


class InceptionI3d(nn.Module):
    """The I3D up to its logits; ``width`` scales every channel count (1.0 = the published
    network; smaller only for tests on random weights)."""

    def __init__(self, num_classes: int = 400, width: float = 1.0) -> None:
        super().__init__()
        c64, c192 = _width(64, width), _width(192, width)
        self.add_module("Conv3d_1a_7x7", Unit3D(3, c64, (7, 7, 7), (2, 2, 2)))
        self.add_module("Conv3d_2b_1x1", Unit3D(c64, c64, (1, 1, 1)))
        self.add_module("Conv3d_2c_3x3", Unit3D(c64, c192, (3, 3, 3)))
        for name, (kernel, stride) in POOLS.items():
            self.add_module(name, MaxPool3dSamePadding(kernel, stride))
        cin = c192
        for name, widths in MIXED.items():
            scaled = tuple(_width(c, width) for c in widths)
            self.add_module(name, InceptionModule(cin, scaled))
            cin = scaled[0] + scaled[2] + scaled[4] + scaled[5]
        self.avg_pool = nn.AvgPool3d((2, 7, 7), stride=(1, 1, 1))
        self.logits = Unit3D(cin, num_classes, (1, 1, 1), logits=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[N, 3, T, 224, 224] in [-1, 1] -> logits [N, num_classes], mean over time."""
        if x.shape[2] < MIN_FRAMES or tuple(x.shape[3:]) != (SIZE, SIZE):
            raise ValueError(f"I3D takes clips of >= {MIN_FRAMES} frames of {SIZE}x{SIZE}, "
                             f"got {x.shape[2]} of {x.shape[3]}x{x.shape[4]}")
        for name in ORDER:
            x = self._modules[name](x)  # type: ignore[misc]
        # Upstream's dropout sat here (identity in eval); then the logits of each remaining
        # time step, averaged (VideoGPT's forward).
        return self.logits(self.avg_pool(x)).squeeze(4).squeeze(3).mean(dim=2)


def preprocess(frames: torch.Tensor) -> torch.Tensor:
    """Frames uint8 [T, 3, H, W] -> I3D input [3, T, 224, 224] in [-1, 1].

    As ``common_metrics_on_video_quality``'s FVD ``preprocess_single`` (from VideoGPT's
    ``data.preprocess``): /255, the shorter side resized to 224 (bilinear, no antialias,
    the longer one to ceil(side * 224 / shorter)), a centre crop to 224x224, then
    ``(x - 0.5) * 2``. The TF-Hub FVD resizes straight to 224x224; for square frames the same.
    """
    x = frames.float() / 255.0
    h, w = x.shape[-2:]
    scale = SIZE / min(h, w)
    size = (SIZE, math.ceil(w * scale)) if h < w else (math.ceil(h * scale), SIZE)
    x = F.interpolate(x, size=size, mode="bilinear", align_corners=False)
    top, left = (x.shape[-2] - SIZE) // 2, (x.shape[-1] - SIZE) // 2
    x = x[..., top : top + SIZE, left : left + SIZE]
    return ((x - 0.5) * 2).permute(1, 0, 2, 3).contiguous()
