"""GenEval's object detector on transformers' Mask2Former, post-processed as mmdetection does.

GenEval runs mmdetection's Mask2Former (Swin-S, COCO instance) and reads, per class, boxes
with scores and binary masks. transformers' ``post_process_instance_segmentation`` differs
from mmdetection in ways that change which objects pass a threshold (masks scored at a fixed
384x384, scores rounded, nearest-neighbour mask upsampling), so the outputs are turned into
instances here the way mmdetection's ``MaskFormerFusionHead`` does:

1. class probabilities: softmax over classes + "no object", the last column dropped;
2. the ``top_k`` (query, class) pairs by probability (mmdet's ``max_per_image`` = 100);
3. each pair's mask logits upsampled (bilinear) to the network input, the padding cropped
   off, then upsampled (bilinear) to the original image size; mask = logits > 0;
4. score = class probability x mean sigmoid over the mask's pixels;
5. box = the mask's tight extent, (x_min, y_min, x_max + 1, y_max + 1).

Input scaling follows mmdetection's test pipeline for that config (``Resize`` with
``img_scale=(1333, 800)``, ``keep_ratio=True``, then ``Pad`` with ``size_divisor=32`` after
``Normalize``): the image is scaled by ``min(1333 / long side, 800 / short side)``, each side
rounded half up (mmcv's ``rescale_size``), then zero-padded at the bottom and right to
multiples of 32. A 768x512 image becomes 1200x800 padded to 1216x800 (it was stretched to
1216x800), a 1000x600 one 1333x800 padded to 1344x800 (stretched past the 1333 cap). Images
go through the network in groups of one input size, so each is padded only to its own
multiple of 32, as upstream's one-image ``inference_detector`` pads it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from PIL import Image

if TYPE_CHECKING:  # torch loads with the detector (see metrics/base.py)
    import torch

from metrics.geneval_rules import CLASSES, Detection

DETECTOR_SIZE = {"shortest_edge": 800, "longest_edge": 1333}
TOP_K = 100  # mmdetection's test_cfg.max_per_image for Mask2Former


PAD_DIVISOR = 32  # mmdetection's Pad(size_divisor=32)


def detector_input_size(shortest: int) -> dict[str, int]:
    """Resize rule for a shorter side of ``shortest`` px, keeping mmdetection's 1333:800 cap."""
    return {"shortest_edge": shortest, "longest_edge": round(shortest * 1333 / 800)}


class InputSize(NamedTuple):
    """Where an image lands in the detector's input: (height, width) before and after padding."""

    resized: tuple[int, int]
    padded: tuple[int, int]


def mmdet_input_size(height: int, width: int, size: dict[str, int] | None = None) -> InputSize:
    """mmdetection's keep-ratio resize into ``size`` (1333x800 by default), then pad to /32."""
    size = size or DETECTOR_SIZE
    factor = min(size["longest_edge"] / max(height, width), size["shortest_edge"] / min(height, width))
    # mmcv's _scale_size rounds half up: int(x * factor + 0.5)
    new_h, new_w = int(height * factor + 0.5), int(width * factor + 0.5)

    def pad(n: int) -> int:
        return -(-n // PAD_DIVISOR) * PAD_DIVISOR

    return InputSize((new_h, new_w), (pad(new_h), pad(new_w)))


def load_detector(model: str, revision: str | None, device: str, dtype: torch.dtype) -> tuple[Any, Any]:
    """The Mask2Former model (eval mode) and its image processor; checks the COCO label space."""
    from transformers import AutoImageProcessor, Mask2FormerForUniversalSegmentation

    net = Mask2FormerForUniversalSegmentation.from_pretrained(model, revision=revision, dtype=dtype)
    if net.config.num_labels != len(CLASSES):
        raise ValueError(f"{model}: {net.config.num_labels} labels, GenEval needs the "
                         f"{len(CLASSES)} COCO instance classes (a *-coco-instance checkpoint)")
    processor = AutoImageProcessor.from_pretrained(model, revision=revision)
    return net.eval().to(device), processor


def mask_boxes(masks: torch.Tensor) -> torch.Tensor:
    """Tight boxes [N, 4] (x1, y1, x2 + 1, y2 + 1) of boolean masks [N, H, W]; empty -> zeros."""
    import torch

    boxes = torch.zeros((masks.shape[0], 4), dtype=torch.float32)
    cols = masks.any(dim=1).cpu()
    rows = masks.any(dim=2).cpu()
    for i in range(masks.shape[0]):
        xs = torch.nonzero(cols[i]).flatten()
        ys = torch.nonzero(rows[i]).flatten()
        if len(xs) and len(ys):
            boxes[i] = torch.tensor([xs[0], ys[0], xs[-1] + 1, ys[-1] + 1], dtype=torch.float32)
    return boxes


def instances(class_logits: torch.Tensor, mask_logits: torch.Tensor, valid: tuple[int, int],
              input_size: tuple[int, int], size: tuple[int, int], top_k: int = TOP_K
              ) -> dict[str, list[Detection]]:
    """One image's detections per GenEval class name, from Mask2Former's raw outputs.

    Args:
        class_logits: [Q, C + 1] class logits of the queries (last column: no object).
        mask_logits: [Q, h, w] mask logits at the network's output stride.
        valid: Height and width of the image inside the (padded) network input.
        input_size: Height and width of the network input.
        size: Height and width of the original image.
        top_k: How many (query, class) pairs to keep.
    """
    import torch.nn.functional as F  # noqa: N812

    probs = class_logits.float().softmax(-1)[:, :-1]
    n_classes = probs.shape[1]
    scores, flat = probs.flatten().topk(min(top_k, probs.numel()), sorted=False)
    labels = flat % n_classes
    logits = mask_logits[flat // n_classes].float()[None]
    logits = F.interpolate(logits, size=input_size, mode="bilinear", align_corners=False)
    logits = logits[:, :, : valid[0], : valid[1]]
    logits = F.interpolate(logits, size=size, mode="bilinear", align_corners=False)[0]
    masks = logits > 0
    mask_score = (logits.sigmoid() * masks).flatten(1).sum(1) / (masks.flatten(1).sum(1) + 1e-6)
    det_scores = (scores * mask_score).cpu().tolist()
    boxes = mask_boxes(masks).tolist()
    masks_np = masks.cpu().numpy()
    found: dict[str, list[Detection]] = {}
    for i, label in enumerate(labels.cpu().tolist()):
        det = Detection(tuple(boxes[i]), det_scores[i], masks_np[i])  # type: ignore[arg-type]
        found.setdefault(CLASSES[label], []).append(det)
    return found


def detect(net: Any, processor: Any, images: Sequence[Image.Image], top_k: int = TOP_K,
           size: dict[str, int] | None = None) -> list[dict[str, list[Detection]]]:
    """Detections per class name for each image (one forward pass per input size)."""
    groups: dict[InputSize, list[int]] = {}
    for i, im in enumerate(images):
        groups.setdefault(mmdet_input_size(im.height, im.width, size), []).append(i)
    results: list[dict[str, list[Detection]]] = [{} for _ in images]
    for where, members in groups.items():
        found = _detect_sized(net, processor, [images[i] for i in members], where, top_k)
        for i, per_class in zip(members, found, strict=True):
            results[i] = per_class
    return results


def _detect_sized(net: Any, processor: Any, images: Sequence[Image.Image], where: InputSize,
                  top_k: int) -> list[dict[str, list[Detection]]]:
    """Detections for images that share one input size: resized exactly, normalised, padded."""
    import torch
    import torch.nn.functional as F  # noqa: N812

    param = next(net.parameters())
    (h, w), (ph, pw) = where
    inputs = processor(images=[im.convert("RGB") for im in images], size={"height": h, "width": w},
                       size_divisor=0, return_tensors="pt")  # no /32 stretch: padded below
    # Pad after Normalize with zeros, bottom and right, as mmdetection's Pad(size_divisor=32).
    pixels = F.pad(inputs["pixel_values"], (0, pw - w, 0, ph - h)).to(param.device, param.dtype)
    pixel_mask = F.pad(inputs["pixel_mask"], (0, pw - w, 0, ph - h)).to(param.device)
    with torch.inference_mode():
        out = net(pixel_values=pixels, pixel_mask=pixel_mask)
    return [instances(out.class_queries_logits[i], out.masks_queries_logits[i], (h, w), (ph, pw),
                      (im.height, im.width), top_k) for i, im in enumerate(images)]

