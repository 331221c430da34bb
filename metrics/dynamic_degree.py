"""VBench's dynamic degree: whether a clip moves, from RAFT optical flow (1.0 moving, 0.0 static).

Formula as vbench/dynamic_degree.py at 45e79ec (``DynamicDegree``):

* frames are taken every ``max(1, round(fps / 8))`` frames (about 8 per second; every frame
  when the clip's fps is unknown);
* for each consecutive pair: RAFT flow (20 iterations) on the pair replicate-padded to a
  multiple of 8 (``InputPadder``, sintel mode); the pair's score is the mean of the largest
  5% of flow magnitudes over the padded frame (``get_score``: ``int(h * w * 0.05)`` pixels);
* a pair moves when its score exceeds ``6.0 * min(H, W) / 256`` (H, W unpadded); the clip
  is dynamic when at least ``round(4 * n / 16)`` pairs move, n the sampled frame count
  (``set_params``, ``check_move``; Python's round, as upstream).

The model is torchvision's RAFT-Large with the ported raft-things weights (metrics/_raft.py).
VBench's reported number is the share of dynamic clips: the mean of this scorer's values.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from metrics._raft import ITERS, RaftScorer, flow, pad_to
from metrics._video import clip_uint8
from metrics.base import Sample, register, require_clips

if TYPE_CHECKING:
    import torch

TOP_SHARE = 0.05  # the largest 5% of flow magnitudes
THRESHOLD_AT_256 = 6.0  # pixels of flow, for a 256-px short side
PAIRS_PER_16 = 4  # moving pairs needed per 16 sampled frames
TARGET_FPS = 8


def top_flow(flow_hw2: torch.Tensor) -> float:
    """Mean magnitude of the largest ``int(h * w * 0.05)`` flow vectors of one flow [2, H, W]."""
    rad = flow_hw2.double().pow(2).sum(0).sqrt().flatten()
    cut = int(rad.numel() * TOP_SHARE)
    return float(rad.sort(descending=True).values[:cut].mean())


def is_dynamic(pair_scores: Sequence[float], short_side: int, n_frames: int) -> bool:
    """VBench's ``check_move``: enough pairs above the resolution-scaled threshold."""
    thres = THRESHOLD_AT_256 * (short_side / 256.0)
    count_num = round(PAIRS_PER_16 * (n_frames / 16.0))
    count = 0
    for score in pair_scores:
        if score > thres:
            count += 1
        if count >= count_num:
            return True
    return False


def sampling_interval(fps: float | None) -> int:
    """Every ``round(fps / 8)``-th frame (VBench's ``get_frames``); 1 without an fps."""
    return 1 if fps is None else max(1, round(fps / TARGET_FPS))


@register
class DynamicDegree(RaftScorer):
    """1.0 if the clip moves (VBench's RAFT optical-flow test), else 0.0; the mean is the share.

    Options: ``model`` (raft_large, default, or raft_small) and ``weights`` (metrics/_raft.py).
    """

    name = "dynamic_degree"

    def preprocessing(self) -> str:
        return (f"RGB uint8 frames every round(fps/{TARGET_FPS}) (all without fps), float 0..255 -> "
                f"[-1,1], replicate-padded to x8; RAFT {ITERS} iterations; top {TOP_SHARE:.0%} flow "
                f"mean > {THRESHOLD_AT_256:g}*min(H,W)/256 in >= round(4n/16) pairs")

    def score(self, samples: Sequence[Sample]) -> list[float]:
        """1.0 or 0.0 per clip."""
        import torch

        clips = require_clips(samples, self.name)
        values = []
        for s, clip in zip(samples, clips, strict=True):
            frames = clip_uint8(clip[:: sampling_interval(s.fps)]).float().to(self.device)
            if len(frames) < 2:
                raise ValueError(f"{self.name} needs at least two sampled frames, got {len(frames)}")
            (a, b), _ = pad_to(frames[:-1], frames[1:])
            with torch.inference_mode():
                flows = flow(self.raft(), a, b)
            scores = [top_flow(f) for f in flows.cpu()]
            values.append(float(is_dynamic(scores, min(frames.shape[-2:]), len(frames))))
        return values
