"""VBench's temporal flickering, dynamic degree and motion smoothness: formulas against
transcriptions of vbench/*.py (45e79ec), and the scorers on random torchvision RAFT weights."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from torchvision.models import optical_flow

from metrics import SCORERS, Kind, Modality, Sample
from metrics.dynamic_degree import is_dynamic, sampling_interval, top_flow
from metrics.motion_smoothness import backward_warp, midpoint, smoothness
from tests.metrics._clips import as_arrays, moving_square, noise_clip, static


def vbench_get_score(flo: np.ndarray) -> float:
    """vbench/dynamic_degree.py ``get_score``, verbatim but for the argument layout."""
    u, v = flo[:, :, 0], flo[:, :, 1]
    rad = np.sqrt(np.square(u) + np.square(v))
    h, w = rad.shape
    cut_index = int(h * w * 0.05)
    return np.mean(abs(np.sort(-rad.flatten()))[:cut_index]).item()


def vbench_check_move(scores: list[float], short: int, count: int) -> bool:
    thres, count_num, n = 6.0 * (short / 256.0), round(4 * (count / 16.0)), 0
    for score in scores:
        if score > thres:
            n += 1
        if n >= count_num:
            return True
    return False


@pytest.fixture(scope="module")
def raft_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder, files = tmp_path_factory.mktemp("raft"), {}
    for arch in ("raft_small",):  # raft_large loads alike, 4x slower
        torch.manual_seed(0)
        files[arch] = folder / f"{arch}.pth"
        torch.save(getattr(optical_flow, arch)(weights=None).state_dict(), files[arch])
    return files


def test_temporal_flickering_is_vbenchs_mae_score() -> None:
    cls = SCORERS.get("temporal_flickering")
    assert cls.modality == Modality.VIDEO and cls.kind == Kind.PER_IMAGE and cls.higher_is_better
    flat = [Image.new("RGB", (8, 8), (100, 100, 100)), Image.new("RGB", (8, 8), (110, 100, 90))]
    moving = moving_square(0)
    a = as_arrays(moving).astype(np.float32)
    want = (255.0 - np.mean([np.mean(np.abs(a[i] - a[i + 1])) for i in range(len(a) - 1)])) / 255.0
    got = cls().score([Sample(static()[0], "", frames=static()), Sample(flat[0], "", frames=tuple(flat)),
                       Sample(moving[4], "", frames=moving)])
    assert got == pytest.approx([1.0, (255.0 - 20.0 / 3) / 255.0, want])


def test_dynamic_degree_pieces_match_vbench() -> None:
    rng = np.random.default_rng(0)
    for h, w in ((40, 56), (13, 17)):
        flo = rng.normal(0, 3, (h, w, 2)).astype(np.float32)
        assert top_flow(torch.from_numpy(flo).permute(2, 0, 1)) == pytest.approx(vbench_get_score(flo))
    for scores, short, count in (([1.0, 2.0, 9.0], 256, 4), ([7.0] * 3 + [1.0] * 5, 256, 16),
                                 ([7.0] * 4, 256, 16), ([0.1], 32, 2), ([0.8, 0.1], 32, 9)):
        assert is_dynamic(scores, short, count) == vbench_check_move(scores, short, count)
    assert [sampling_interval(f) for f in (None, 8, 16, 24, 30, 4)] == [1, 1, 2, 3, 4, 1]


def raft_flow(model: torch.nn.Module, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """One pair as VBench runs it: InputPadder (sintel) then RAFT with 20 iterations; frames
    under 128 px upscaled for RAFT and the flow brought back, as metrics/_raft.py does."""
    ht, wd = a.shape[-2:]
    ph, pw = (((ht // 8) + 1) * 8 - ht) % 8, (((wd // 8) + 1) * 8 - wd) % 8
    pad = [pw // 2, pw - pw // 2, ph // 2, ph - ph // 2]
    a, b = F.pad(a, pad, mode="replicate"), F.pad(b, pad, mode="replicate")
    h, w = a.shape[-2:]
    size = (int(np.ceil(h * 128 / min(h, w) / 8) * 8), int(np.ceil(w * 128 / min(h, w) / 8) * 8))
    up = [F.interpolate(x, size=size, mode="bilinear") for x in (a, b)]
    with torch.no_grad():
        f = model(2 * (up[0] / 255.0) - 1, 2 * (up[1] / 255.0) - 1, num_flow_updates=20)[-1]
    f = F.interpolate(f, size=(h, w), mode="bilinear")
    return torch.stack([f[:, 0] * w / size[1], f[:, 1] * h / size[0]], 1)


def frames_tensor(clip) -> torch.Tensor:
    return torch.from_numpy(as_arrays(clip)).permute(0, 3, 1, 2).float()


def test_dynamic_degree_runs_vbenchs_procedure_on_random_raft(raft_files: dict[str, Path]) -> None:
    model = optical_flow.raft_small(weights=None)
    model.load_state_dict(torch.load(raft_files["raft_small"], weights_only=True))
    model.eval()
    clip = moving_square(0, size=36)  # not a multiple of 8: exercises the padding
    frames = frames_tensor(clip)[::3]  # fps 24 -> every 3rd frame: 0, 3, 6
    scores = [top_flow(raft_flow(model, frames[i : i + 1], frames[i + 1 : i + 2])[0])
              for i in range(len(frames) - 1)]
    want = vbench_check_move(scores, 36, len(frames))
    scorer = SCORERS.get("dynamic_degree")(model="raft_small", weights=str(raft_files["raft_small"]))
    got = scorer.score([Sample(clip[4], "", frames=clip, fps=24.0)])
    assert got == [float(want)]
    assert scorer.identity()["revision"] == str(raft_files["raft_small"])
    with pytest.raises(ValueError, match="unknown RAFT architecture"):
        SCORERS.get("dynamic_degree")(model="raft_huge")


def test_motion_smoothness_pieces() -> None:
    img = frames_tensor(noise_clip(3, frames=1, size=16))
    shift = torch.zeros(1, 2, 16, 16)
    shift[:, 0] = 2.0  # sample two pixels to the right
    assert torch.allclose(backward_warp(img, shift)[..., :, :14], img[..., :, 2:], atol=1e-3)
    zero = torch.zeros(1, 2, 16, 16)
    other = frames_tensor(noise_clip(4, frames=1, size=16))
    assert torch.allclose(midpoint(zero, zero, img, other), (img + other) / 2)
    a = torch.full((2, 3, 4, 4), 100, dtype=torch.uint8)
    assert smoothness(a, a + torch.tensor([0, 10], dtype=torch.uint8).view(2, 1, 1, 1)) == \
        pytest.approx((255.0 - 5.0) / 255.0)


def test_motion_smoothness_interpolates_even_frames_and_scores_odd_ones(raft_files: dict[str, Path]) -> None:
    model = optical_flow.raft_small(weights=None)
    model.load_state_dict(torch.load(raft_files["raft_small"], weights_only=True))
    model.eval()
    clip = moving_square(1, frames=6, size=20)  # 6 frames: 3 even, 2 interpolations, 3 odd
    frames = frames_tensor(clip)
    even = frames[0::2]
    ph, pw = (-20) % 16, (-20) % 16
    pad = [pw // 2, pw - pw // 2, ph // 2, ph - ph // 2]
    even = F.pad(even, pad, mode="replicate")
    diffs = []
    for i in range(len(even) - 1):
        a, b = even[i : i + 1], even[i + 1 : i + 2]
        f01, f10 = raft_flow(model, a, b), raft_flow(model, b, a)  # x16 already: no padding
        mid = midpoint(f01, f10, a, b)[..., pad[2] : 32 - pad[3], pad[0] : 32 - pad[1]]
        mid = mid.round().clamp(0, 255)
        diffs.append((frames[2 * i + 1] - mid[0]).abs().mean().item())
    scorer = SCORERS.get("motion_smoothness")(model="raft_small", weights=str(raft_files["raft_small"]))
    (got,) = scorer.score([Sample(clip[4], "", frames=clip)])
    assert got == pytest.approx((255.0 - np.mean(diffs)) / 255.0, abs=1e-6)
    assert "not AMT-S" in scorer.identity()["model"]
