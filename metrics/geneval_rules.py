"""GenEval's correctness rules (Ghosh et al., 2023), apart from any model.

Semantics follow GenEval's ``evaluation/evaluate_images.py`` and ``summary_scores.py``:

* **Detections kept**, per class: score strictly above the confidence threshold (0.3, or
  0.9 for the ``counting`` task), both compared in float32 as upstream's numpy does, most
  confident first with ties in upstream's order (``metrics.geneval_order``: later first
  among up to 16 detections), at most ``max_objects`` (16), then
  greedy suppression of boxes overlapping a kept one by IoU >= ``max_overlap`` (1.0 by
  default, which upstream treats as "no suppression").
* **include** clauses are AND-ed: the ``count`` most confident detections of the class must
  exist; if a ``color`` is asked for, at least ``count`` of them must be classified that
  colour; if a ``position`` ``[relation, group]`` is asked for, every one of them must stand
  in that relation to every object matched by clause ``group`` (a failed clause has no
  objects, so a position relative to it fails too).
* **exclude** clauses are OR-ed: ``count`` or more detections of the class make it wrong.
* **Position**: the centre offset of A from B, shrunk on each axis by ``position_threshold``
  times the summed box sizes; if nothing is left A has no relation; otherwise a relation
  holds when its axis carries more than half of the offset's length.
* **Summary**: the score of a task is the share of its images judged correct; the overall
  score is the mean of the task scores (not of the images).

Everything here is plain Python + numpy so the rules are tested on hand-made detections.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported where used: validating a suite lists the scorers, never needs numpy
    import numpy as np

#: GenEval's colour list, in its order (the zero-shot classes).
COLORS: tuple[str, ...] = (
    "red", "orange", "yellow", "green", "blue", "purple", "pink", "brown", "black", "white",
)

#: The 80 COCO thing classes in COCO order, with GenEval's names (``object_names.txt``):
#: index i is the detector's label i. GenEval renames three COCO classes ("mouse",
#: "remote", "keyboard"), which is why labels are matched by index, not by name.
CLASSES: tuple[str, ...] = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
    "traffic light", "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat",
    "dog", "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack",
    "umbrella", "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball",
    "kite", "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket",
    "bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple",
    "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair",
    "couch", "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "computer mouse",
    "tv remote", "computer keyboard", "cell phone", "microwave", "oven", "toaster", "sink",
    "refrigerator", "book", "clock", "vase", "scissors", "teddy bear", "hair drier", "toothbrush",
)

#: The six tasks, in the order of GenEval's metadata file.
TASKS: tuple[str, ...] = (
    "single_object", "two_object", "counting", "colors", "position", "color_attr",
)


@dataclass(frozen=True)
class Rules:
    """GenEval's tunable constants (its ``--options``), with upstream's defaults."""

    threshold: float = 0.3
    counting_threshold: float = 0.9
    max_objects: int = 16
    max_overlap: float = 1.0
    position_threshold: float = 0.1

    def confidence_for(self, tag: str) -> float:
        """The minimum confidence (exclusive) for a task: counting asks for more."""
        return self.counting_threshold if tag == "counting" else self.threshold


@dataclass(frozen=True)
class Detection:
    """One detected instance: box (x1, y1, x2, y2) in pixels, confidence, optional mask."""

    box: tuple[float, float, float, float]
    score: float
    mask: np.ndarray | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Verdict:
    """Whether an image satisfies its prompt, and why not (one line per failed clause)."""

    correct: bool
    reason: str = ""


@dataclass(frozen=True)
class Summary:
    """Per-task scores (share of correct images) and their mean, GenEval's overall score."""

    tasks: Mapping[str, float]
    counts: Mapping[str, int]
    overall: float


#: Colours of the given detections of a class, one name per detection.
ColourFn = Callable[[str, Sequence[Detection]], list[str]]


def box_iou(a: Sequence[float], b: Sequence[float]) -> float:
    """IoU with upstream's inclusive-pixel convention (width = x2 - x1 + 1)."""

    def area(box: Sequence[float]) -> float:
        return max(box[2] - box[0] + 1, 0) * max(box[3] - box[1] + 1, 0)

    inter = area([max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])])
    union = area(a) + area(b) - inter
    return inter / union if union else 0.0


def keep_detections(candidates: Mapping[str, Sequence[Detection]], tag: str,
                    rules: Rules = Rules()) -> dict[str, list[Detection]]:
    """The detections GenEval keeps per class, most confident first (classes with none dropped)."""
    import numpy as np

    from metrics.geneval_order import most_confident_first

    # Upstream's scores are a float32 array and numpy compares it with the threshold in
    # float32: a score of exactly float32(0.3) is not above 0.3 there (it is in float64).
    floor = np.float32(rules.confidence_for(tag))
    kept: dict[str, list[Detection]] = {}
    for name, dets in candidates.items():
        scores = np.asarray([d.score for d in dets], dtype=np.float32)
        # Upstream's argsort(...)[::-1] in numpy 1.23: among tied scores, its order (later first
        # when there are at most 16), which decides the object colour and position judge.
        order = [dets[i] for i in most_confident_first(scores.tolist()) if scores[i] > floor]
        order = order[: rules.max_objects]
        chosen: list[Detection] = []
        while order:
            best = order.pop(0)
            chosen.append(best)
            if rules.max_overlap < 1:  # upstream: a threshold of exactly 1 disables suppression
                order = [d for d in order if box_iou(best.box, d.box) < rules.max_overlap]
        if chosen:
            kept[name] = chosen
    return kept


def relative_position(a: Detection, b: Detection, position_threshold: float = 0.1) -> frozenset[str]:
    """Where A is relative to B: a subset of {"left of", "right of", "above", "below"}."""
    import numpy as np

    boxes = np.array([a.box, b.box], dtype=np.float64).reshape(2, 2, 2)
    centre_a, centre_b = boxes.mean(axis=1)
    size_a, size_b = np.abs(boxes[:, 1] - boxes[:, 0])
    offset = centre_a - centre_b
    shrunk = np.maximum(np.abs(offset) - position_threshold * (size_a + size_b), 0) * np.sign(offset)
    if np.all(np.abs(shrunk) < 1e-3):
        return frozenset()
    dx, dy = shrunk / np.linalg.norm(offset)
    found = set()
    if dx < -0.5:
        found.add("left of")
    if dx > 0.5:
        found.add("right of")
    if dy < -0.5:  # image y grows downwards
        found.add("above")
    if dy > 0.5:
        found.add("below")
    return frozenset(found)


def judge(detected: Mapping[str, Sequence[Detection]], meta: Mapping[str, Any],
          colours: ColourFn, rules: Rules = Rules()) -> Verdict:
    """Apply a prompt's ``include``/``exclude`` clauses to the kept detections."""
    correct = True
    reasons: list[str] = []
    groups: list[Sequence[Detection] | None] = []  # objects each include clause matched
    for req in meta.get("include", []):
        name, count = req["class"], int(req["count"])
        found = list(detected.get(name, []))[:count]
        matched = len(found) >= count
        if not matched:
            reasons.append(f"expected {name}>={count}, found {len(found)}")
        if matched and "color" in req:
            seen = colours(name, found)
            if seen.count(req["color"]) < count:
                matched = False
                others = ", ".join(f"{seen.count(c)} {c}" for c in COLORS if c in seen)
                reasons.append(f"expected {req['color']} {name}>={count}, found "
                               f"{seen.count(req['color'])} {req['color']}; and {others}")
        if matched and "position" in req:
            relation, target = req["position"][0], int(req["position"][1])
            targets = groups[target] if target < len(groups) else None
            if targets is None:
                matched = False
                reasons.append(f"no target for {name} to be {relation}")
            else:
                matched = _all_related(found, targets, relation, rules, name, reasons)
        correct &= matched
        groups.append(found if matched else None)
    for req in meta.get("exclude", []):
        name, count = req["class"], int(req["count"])
        if len(detected.get(name, [])) >= count:
            correct = False
            reasons.append(f"expected {name}<{count}, found {len(detected[name])}")
    return Verdict(correct, "; ".join(reasons))


def _all_related(found: Sequence[Detection], targets: Sequence[Detection], relation: str,
                 rules: Rules, name: str, reasons: list[str]) -> bool:
    for obj in found:
        for target in targets:
            actual = relative_position(obj, target, rules.position_threshold)
            if relation not in actual:
                reasons.append(f"expected {name} {relation} target, found "
                               f"{' and '.join(sorted(actual)) or 'no relation to the'} target")
                return False
    return True


def summarise(rows: Iterable[tuple[str, float]]) -> Summary:
    """GenEval's summary of (task, correct as 1/0) rows; NaN rows (unscored images) are skipped.

    Tasks appear in the order first seen (upstream's ``groupby(sort=False)``); the overall
    score is the unweighted mean of the task scores.
    """
    import numpy as np

    sums: dict[str, float] = {}
    counts: dict[str, int] = {}
    for task, value in rows:
        if value is None or math.isnan(value):
            continue
        sums[task] = sums.get(task, 0.0) + float(value)
        counts[task] = counts.get(task, 0) + 1
    tasks = {t: sums[t] / counts[t] for t in sums}
    overall = float(np.mean(list(tasks.values()))) if tasks else math.nan
    return Summary(tasks, counts, overall)
