"""VBench's subject consistency: how alike a clip's frames stay in DINO ViT-B/16 features.

As vbench/subject_consistency.py at 45e79ec: the model is DINO's ViT-B/16
(``torch.hub.load("facebookresearch/dino:main", "dino_vitb16")``, weights
``dino_vitbase16_pretrain.pth``); each frame, as uint8 RGB, is resized so its shorter side is
224 (``dino_transform``: torchvision ``Resize(224, antialias=False)``, bilinear, no crop),
scaled to [0, 1] and normalised with ImageNet's mean and std; its feature is DINO's output,
the final-norm CLS token, L2-normalised; the clip's value is VBench's consistency of those
features (``metrics._video.consistency``: mean over frames 2..T of the average of the
clamped cosines to the previous and to the first frame).

The network is timm's ``VisionTransformer`` with DINO's ViT-B/16 settings, whose state-dict
names are DINO's own (``cls_token``, ``pos_embed``, ``patch_embed.proj``, ``blocks.N.*``,
``norm``), so DINO's checkpoint loads unchanged. The forward is DINO's
(``VisionTransformer.prepare_tokens``): a non-square frame's patch grid gets DINO's bicubic
interpolation of the position embeddings, with its +0.1 on the grid size.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from metrics._torch import check_batch_size
from metrics._video import clip_uint8, consistency
from metrics._weights import TORCH_CACHE_ENV, loading
from metrics.base import BaseScorer, Kind, Modality, Sample, register, require_clips

if TYPE_CHECKING:
    import torch

DINO_URL = "https://dl.fbaipublicfiles.com/dino/dino_vitbase16_pretrain/dino_vitbase16_pretrain.pth"
#: DINO's ``vit_base`` (vision_transformer.py): patch 16, 768 wide, 12 blocks of 12 heads.
VIT_B16: Mapping[str, int] = {"patch_size": 16, "embed_dim": 768, "depth": 12, "num_heads": 12}
SIZE = 224  # dino_transform(224): the shorter side
MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def build_dino(architecture: Mapping[str, int] = VIT_B16) -> torch.nn.Module:
    """DINO's ViT (qkv bias, MLP ratio 4, LayerNorm eps 1e-6, no head) as a timm model."""
    from timm.models.vision_transformer import VisionTransformer

    return VisionTransformer(img_size=224, num_classes=0, qkv_bias=True, mlp_ratio=4.0,
                             **dict(architecture)).eval()


def dino_pos_embed(vit: torch.nn.Module, grid_h: int, grid_w: int) -> torch.Tensor:
    """DINO's ``interpolate_pos_encoding`` for a grid of ``grid_h`` x ``grid_w`` patches."""
    import math

    import torch
    import torch.nn.functional as F

    pos = vit.pos_embed
    n = pos.shape[1] - 1
    side = int(math.sqrt(n))
    if grid_h * grid_w == n and grid_h == grid_w:
        return pos
    # +0.1 as DINO does, so that the scale factor lands on the grid size after flooring.
    patch = F.interpolate(pos[:, 1:].reshape(1, side, side, -1).permute(0, 3, 1, 2),
                          scale_factor=((grid_h + 0.1) / side, (grid_w + 0.1) / side), mode="bicubic")
    patch = patch.permute(0, 2, 3, 1).reshape(1, -1, pos.shape[-1])
    return torch.cat((pos[:, :1], patch), dim=1)


def dino_features(vit: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """DINO's forward: patch embedding (a remainder of < 16 px dropped), CLS token, position
    embeddings, blocks, final norm; the CLS output [N, D]."""
    import torch

    patches = vit.patch_embed.proj(x)
    grid_h, grid_w = patches.shape[-2:]
    tokens = torch.cat((vit.cls_token.expand(x.shape[0], -1, -1), patches.flatten(2).transpose(1, 2)), 1)
    tokens = tokens + dino_pos_embed(vit, grid_h, grid_w)
    for block in vit.blocks:
        tokens = block(tokens)
    return vit.norm(tokens)[:, 0]


def dino_transform(frames: torch.Tensor) -> torch.Tensor:
    """VBench's ``dino_transform(224)`` on uint8 frames [T, 3, H, W]."""
    from torchvision.transforms import functional as TF

    x = TF.resize(frames, SIZE, antialias=False).float().div(255.0)  # uint8 in, rounded, as upstream
    return TF.normalize(x, MEAN, STD)


@register
class SubjectConsistency(BaseScorer):
    """VBench's subject consistency: DINO features across frames, in [0, 1]; higher is better.

    Args:
        device: Torch device.
        weights: Path of DINO's ``dino_vitbase16_pretrain.pth`` (or a state dict with the same
            names); default: DINO's URL through torch.hub's cache, as its hubconf loads it.
        architecture: The ViT's patch_size, embed_dim, depth and num_heads; default DINO's
            ViT-B/16 (VBench's). E.g. DINO's ViT-S/16 is 16, 384, 12, 6.
        batch_size: Frames per forward pass.
    """

    name = "subject_consistency"
    preload = ("timm.models.vision_transformer", "torchvision.transforms.functional")
    higher_is_better = True
    kind = Kind.PER_IMAGE
    modality = Modality.VIDEO

    def __init__(self, device: str = "cpu", weights: str | None = None,
                 architecture: Mapping[str, int] | None = None, batch_size: int = 16) -> None:
        super().__init__(device)
        self.weights = weights
        self.architecture = dict(VIT_B16 if architecture is None else architecture)
        unknown = set(self.architecture) - set(VIT_B16)
        if unknown:
            raise ValueError(f"architecture takes {', '.join(VIT_B16)}; not {', '.join(sorted(unknown))}")
        self.batch_size = check_batch_size(batch_size)
        self._model: Any = None

    def identity(self) -> dict[str, Any]:
        return {**super().identity(), "model": f"DINO ViT {self.architecture}",
                "revision": self.weights or DINO_URL, "dtype": "float32"}

    def preprocessing(self) -> str:
        return (f"RGB uint8, shorter side resized to {SIZE} (bilinear, no antialias, no crop), /255, "
                f"normalise mean {MEAN} std {STD}; DINO CLS feature, L2-normalised; VBench consistency")

    def _load(self) -> torch.nn.Module:
        if self._model is None:
            import torch

            model = build_dino(self.architecture)
            with loading(self.name, self.weights or DINO_URL, "weights", TORCH_CACHE_ENV):
                if self.weights is not None:
                    state = torch.load(self.weights, map_location="cpu", weights_only=True)
                else:
                    state = torch.hub.load_state_dict_from_url(DINO_URL, map_location="cpu", progress=False)
            model.load_state_dict(state, strict=True)
            self._model = model.to(self.device)
        return self._model

    def score(self, samples: Sequence[Sample]) -> list[float]:
        """One consistency per clip."""
        import torch

        model = self._load()
        values = []
        for clip in require_clips(samples, self.name):
            x = dino_transform(clip_uint8(clip)).to(self.device)
            with torch.inference_mode():
                feats = torch.cat([dino_features(model, x[i : i + self.batch_size])
                                   for i in range(0, len(x), self.batch_size)])
            values.append(consistency(feats.float().cpu()))
        return values
