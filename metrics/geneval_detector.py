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

Input scaling follows mmdetection's test pipeline for that config: shorter side to 800,
longer side at most 1333, sizes rounded to multiples of 32, ImageNet mean/std.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from PIL import Image

if TYPE_CHECKING:  # torch loads with the detector (see metrics/base.py)
    import torch

from metrics.geneval_rules import CLASSES, Detection

DETECTOR_SIZE = {"shortest_edge": 800, "longest_edge": 1333}
TOP_K = 100  # mmdetection's test_cfg.max_per_image for Mask2Former


def detector_input_size(shortest: int) -> dict[str, int]:
    """Resize rule for a shorter side of ``shortest`` px, keeping mmdetection's 1333:800 cap."""
    return {"shortest_edge": shortest, "longest_edge": round(shortest * 1333 / 800)}


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
    """Detections per class name for each image (a batch through the network at once)."""
    import torch

    param = next(net.parameters())
    inputs = processor(images=[im.convert("RGB") for im in images], size=size or DETECTOR_SIZE,
                       return_tensors="pt")
    pixels = inputs["pixel_values"].to(param.device, param.dtype)
    pixel_mask = inputs["pixel_mask"].to(param.device)
    with torch.inference_mode():
        out = net(pixel_values=pixels, pixel_mask=pixel_mask)
    input_size = tuple(pixels.shape[-2:])
    results = []
    for i, im in enumerate(images):
        valid_mask = inputs["pixel_mask"][i].bool()
        valid = (int(valid_mask.any(1).sum()), int(valid_mask.any(0).sum()))
        results.append(instances(out.class_queries_logits[i], out.masks_queries_logits[i],
                                 valid, input_size, (im.height, im.width), top_k))  # type: ignore[arg-type]
    return results

