"""GenEval (Ghosh et al., 2023): is the prompt's object list in the image? 1 = correct, 0 = not.

Scores images of GenEval prompts as GenEval's ``evaluation/evaluate_images.py`` does: an
instance-segmentation detector finds the objects (``metrics.geneval_detector``), CLIP
classifies the colour of each needed object on its masked crop, and GenEval's rules decide
(``metrics.geneval_rules``). The per-task scores are the report's category breakdown (a
GenEval prompt's category is its task tag); ``metrics.geneval_rules.summarise`` gives the
overall score the way GenEval's summary does (mean of the task scores).

**Deviation from upstream** (expect small differences from published GenEval numbers):
upstream runs mmdetection's Mask2Former Swin-S checkpoint; we run transformers' native
``Mask2FormerForUniversalSegmentation`` with the Detectron2 COCO-instance conversion of the
same architecture (``facebook/mask2former-swin-small-coco-instance``), post-processed as
mmdetection does. Colour uses transformers' ``CLIPModel`` with the same OpenAI ViT-L/14
weights upstream loads through open_clip, and the processor's resize instead of open_clip's.
Prompts without GenEval object metadata are not scored (NaN with the reason).

**Precision.** Upstream runs the detector in float32 and the colour classifier's image side
under float16 autocast (clip-benchmark 1.4.0's ``run_classification`` defaults to
``amp=True``; upstream asserts CUDA). ``colour_precision = "amp"`` does the same on CUDA and
stays float32 on the CPU, where autocast would mean bfloat16 (docs/METRICS.md: how often the
two disagree on the tiny test model).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, Any, ClassVar

from PIL import Image

from metrics._clip import model_identity
from metrics._torch import check_batch_size, dtype_name, resolve_dtype
from metrics._weights import loading
from metrics.base import BaseScorer, Kind, Sample, register
from metrics.geneval_detector import DETECTOR_SIZE, TOP_K, detect, detector_input_size, load_detector
from metrics.geneval_rules import COLORS, Detection, Rules, judge, keep_detections

if TYPE_CHECKING:  # torch loads with the model (see metrics/base.py)
    import torch

DETECTOR = "facebook/mask2former-swin-small-coco-instance"
CLIP = "openai/clip-vit-large-patch14"
# Upstream's zero-shot prompts for the colour of an object of class {cls}.
TEMPLATES = ("a photo of a {c} {cls}", "a photo of a {c}-colored {cls}", "a photo of a {c} object")
COLOUR_PRECISIONS = ("amp", "float16", "float32")


class ColourClassifier:
    """CLIP zero-shot colour of detected objects, as upstream's ``color_classification``.

    Each object is pasted on a flat background through its mask (``bgcolor``, upstream's
    "#999"), cropped to its box, embedded; the class is the colour whose averaged,
    re-normalised template embedding is closest.

    ``amp``: the dtype of the autocast the image side runs under (None: none). Upstream's
    clip-benchmark 1.4.0 ``run_classification`` defaults to ``amp=True``: the image encoder,
    the normalisation and ``100 * features @ classifier`` run under CUDA float16 autocast,
    the text classifier is built outside it in float32, and the argmax is taken on the
    float16 logits. This reproduces that order of operations.
    """

    def __init__(self, model: Any, processor: Any, bgcolor: str = "#999",
                 amp: torch.dtype | None = None) -> None:
        self.model, self.processor, self.bgcolor, self.amp = model, processor, bgcolor, amp
        self._classifiers: dict[str, torch.Tensor] = {}

    def classifier(self, classname: str) -> torch.Tensor:
        """[D, len(COLORS)] unit text embeddings of the colours for this object class."""
        import torch

        if classname not in self._classifiers:
            columns = []
            for colour in COLORS:
                texts = [t.format(c=colour, cls=classname) for t in TEMPLATES]
                tokens = self.processor(text=texts, padding=True, return_tensors="pt")
                emb = _features(self.model.get_text_features(
                    input_ids=tokens["input_ids"].to(self.model.device),
                    attention_mask=tokens["attention_mask"].to(self.model.device)))
                mean = torch.nn.functional.normalize(emb, dim=-1).mean(0)
                columns.append(mean / mean.norm())
            self._classifiers[classname] = torch.stack(columns, dim=1)
        return self._classifiers[classname]

    def crops(self, image: Image.Image, objects: Sequence[Detection]) -> list[Image.Image]:
        """Each object on the background colour through its mask, cropped to its box."""
        image = image.convert("RGB")
        blank = image.copy() if self.bgcolor == "original" else Image.new("RGB", image.size, self.bgcolor)
        out = []
        for det in objects:
            shown = image if det.mask is None else Image.composite(image, blank, Image.fromarray(det.mask))
            out.append(shown.crop(tuple(round(v) for v in det.box)))  # type: ignore[arg-type]
        return out

    def __call__(self, image: Image.Image, classname: str, objects: Sequence[Detection]) -> list[str]:
        import torch

        with torch.inference_mode():
            classifier = self.classifier(classname)  # float32, outside autocast as upstream
            pixels = self.processor(images=self.crops(image, objects), return_tensors="pt")["pixel_values"]
            with torch.autocast(self.model.device.type, dtype=self.amp or torch.float32,
                                enabled=self.amp is not None):
                emb = _features(self.model.get_image_features(
                    pixel_values=pixels.to(self.model.device, self.model.dtype)))
                # Under autocast the matmul runs in float16: the 100x scale comes first, as upstream.
                logits = 100.0 * torch.nn.functional.normalize(emb, dim=-1) @ classifier
        return [COLORS[i] for i in logits.argmax(1).tolist()]


def colour_autocast(device: str, precision: str) -> torch.dtype | None:
    """The autocast dtype of the colour classifier for the ``colour_precision`` option.

    "amp" (default): float16 autocast on CUDA, as upstream (which runs on CUDA only); float32
    elsewhere (CPU autocast means bfloat16, a coarser format upstream never used). "float16":
    float16 autocast on any device, the CPU included (to check its effect). "float32": none.
    """
    import torch

    if precision not in COLOUR_PRECISIONS:
        raise ValueError(f"colour_precision must be one of {', '.join(COLOUR_PRECISIONS)}, "
                         f"got {precision!r}")
    if precision == "float16" or (precision == "amp" and device.split(":")[0] == "cuda"):
        return torch.float16
    return None


def _features(out: Any) -> torch.Tensor:
    import torch

    # transformers 5 returns a ModelOutput whose pooler_output is the projected embedding.
    return (out if isinstance(out, torch.Tensor) else out.pooler_output).float()


@register
class GenEval(BaseScorer):
    """1.0 if the image shows the GenEval prompt's objects (count, colour, position), else 0.0.

    Args:
        device: Torch device ("cpu", "cuda", "cuda:1").
        detector: Hub id or local folder of a Mask2Former COCO-instance checkpoint.
        detector_revision: Hub revision of ``detector``.
        clip: Hub id or local folder of the CLIP model for colours.
        clip_revision: Hub revision of ``clip``.
        threshold, counting_threshold, max_objects, max_overlap, position_threshold: GenEval's
            options, upstream defaults (0.3, 0.9, 16, 1.0, 0.1).
        bgcolor: Background behind a masked object for colour ("#999", or "original").
        dtype: Weights of both models: "float32" (default, as upstream's), "float16",
            "bfloat16", or "auto" (which stays float32: thresholds sit on exact scores).
        colour_precision: "amp" (default: the colour classifier's image side under float16
            autocast on CUDA, as upstream's clip-benchmark does; float32 on the CPU),
            "float16" (that autocast on any device) or "float32". The detector never autocasts.
        batch_size: Images per detector forward pass (images of one input size share one).
        detector_size: Shorter side of the detector's scale (800: mmdetection's 1333x800; the
            longer side's cap is 1333/800 of it). The image is resized keeping its aspect
            ratio to fit inside, then padded to multiples of 32. Smaller is faster, less exact.
    """

    name: ClassVar[str] = "geneval"
    preload: ClassVar[tuple[str, ...]] = ("transformers.models.clip.modeling_clip",
                                          "transformers.models.mask2former.modeling_mask2former")
    higher_is_better: ClassVar[bool] = True
    kind: ClassVar[Kind] = Kind.PER_IMAGE
    ideal: ClassVar[float | None] = None

    def __init__(self, device: str = "cpu", detector: str = DETECTOR, detector_revision: str | None = None,
                 clip: str = CLIP, clip_revision: str | None = None, threshold: float = 0.3,
                 counting_threshold: float = 0.9, max_objects: int = 16, max_overlap: float = 1.0,
                 position_threshold: float = 0.1, bgcolor: str = "#999", dtype: str = "float32",
                 batch_size: int = 8, detector_size: int = DETECTOR_SIZE["shortest_edge"],
                 colour_precision: str = "amp") -> None:
        super().__init__(device)
        self.detector, self.detector_revision = detector, detector_revision
        self.clip, self.clip_revision = clip, clip_revision
        self.rules = Rules(float(threshold), float(counting_threshold), int(max_objects),
                           float(max_overlap), float(position_threshold))
        Image.new("RGB", (1, 1), bgcolor if bgcolor != "original" else 0)  # validates the colour
        self.bgcolor = bgcolor
        self.dtype = resolve_dtype(device, dtype, half_ok=False)
        self.colour_amp = colour_autocast(device, colour_precision)
        self.batch_size = check_batch_size(batch_size)
        self.detector_size = detector_input_size(check_batch_size(detector_size))
        self._models: tuple[Any, Any, ColourClassifier] | None = None

    def identity(self) -> dict[str, Any]:
        return {"name": self.name, "detector": model_identity(self.detector, self.detector_revision),
                "clip": model_identity(self.clip, self.clip_revision), "rules": asdict(self.rules),
                "bgcolor": self.bgcolor, "dtype": dtype_name(self.dtype),
                "colour_precision": (f"{dtype_name(self.colour_amp)} autocast" if self.colour_amp
                                     else "no autocast"),
                "detector_size": self.detector_size,
                "preprocessing": self.preprocessing()}

    def preprocessing(self) -> str:
        return (f"detector: keep-ratio resize into {self.detector_size['longest_edge']}x"
                f"{self.detector_size['shortest_edge']}, zero pad to /32 (mmdet), ImageNet mean/std; "
                f"top {TOP_K} (query, class), "
                "mmdet mask scoring and boxes; colour: masked crop on bgcolor, CLIP processor, "
                "3 templates averaged")

    def skip_reason(self, sample: Sample) -> str | None:
        return None if "include" in sample.meta else "not a GenEval prompt (no object metadata)"

    def load(self) -> tuple[Any, Any, ColourClassifier]:
        """Detector, its processor and the colour classifier, loaded once."""
        if self._models is None:
            from transformers import CLIPModel, CLIPProcessor

            with loading(self.name, self.detector, "detector"):
                net, processor = load_detector(self.detector, self.detector_revision, self.device,
                                               self.dtype)
            with loading(self.name, self.clip, "clip"):
                clip = CLIPModel.from_pretrained(self.clip, revision=self.clip_revision, dtype=self.dtype)
                clip_processor = CLIPProcessor.from_pretrained(self.clip, revision=self.clip_revision)
            colours = ColourClassifier(clip.eval().to(self.device), clip_processor, self.bgcolor,
                                       self.colour_amp)
            self._models = (net, processor, colours)
        return self._models

    def score(self, samples: Sequence[Sample]) -> list[float]:
        """1.0 or 0.0 per sample; every sample must carry GenEval metadata."""
        if not samples:
            return []
        for s in samples:
            if (why := self.skip_reason(s)) is not None:
                raise ValueError(why)
        net, processor, colours = self.load()
        values: list[float] = []
        for start in range(0, len(samples), self.batch_size):
            chunk = samples[start : start + self.batch_size]
            found = detect(net, processor, [s.image for s in chunk], size=self.detector_size)
            for s, candidates in zip(chunk, found, strict=True):
                tag = s.meta.get("tag", s.category)
                kept = keep_detections(candidates, tag, self.rules)
                verdict = judge(kept, s.meta, lambda cls, objs, im=s.image: colours(im, cls, objs),
                                self.rules)
                values.append(1.0 if verdict.correct else 0.0)
        return values
