"""GenEval's rules on hand-made detections (upstream semantics of evaluate_images.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from metrics.geneval_rules import (
    CLASSES,
    COLORS,
    Detection,
    Rules,
    box_iou,
    judge,
    keep_detections,
    relative_position,
    summarise,
)


def det(x1: float, y1: float, x2: float, y2: float, score: float = 0.95) -> Detection:
    return Detection((x1, y1, x2, y2), score)


def no_colour(cls, objs):  # the colour classifier must not be asked for plain object clauses
    raise AssertionError("colour asked for")


def test_constants_match_upstream_lists():
    assert len(CLASSES) == 80 and len(set(CLASSES)) == 80
    assert CLASSES[0] == "person" and CLASSES[64] == "computer mouse" and CLASSES[-1] == "toothbrush"
    assert COLORS == ("red", "orange", "yellow", "green", "blue", "purple", "pink", "brown",
                      "black", "white")


def test_confidence_is_strictly_above_threshold_and_counting_asks_for_more():
    cands = {"dog": [det(0, 0, 9, 9, 0.3), det(20, 0, 29, 9, 0.3001), det(40, 0, 49, 9, 0.95)]}
    kept = keep_detections(cands, "single_object")
    assert [d.score for d in kept["dog"]] == [0.95, 0.3001]  # 0.3 itself is not above 0.3
    kept = keep_detections(cands, "counting")
    assert [d.score for d in kept["dog"]] == [0.95]  # counting keeps only > 0.9
    assert keep_detections({"cat": [det(0, 0, 1, 1, 0.2)]}, "single_object") == {}


def test_a_score_of_float32_0_3_is_not_above_the_threshold():
    # Upstream compares its float32 scores with the threshold in float32 (numpy casts 0.3 to
    # the array's float32), so a detector score of exactly float32(0.3) = 0.30000001192... is
    # dropped there although it is above 0.3 in float64 (issue 17 item 11).
    f32 = float(np.float32(0.3))
    assert f32 > 0.3
    just_above = float(np.nextafter(np.float32(0.3), np.float32(1)))
    cands = {"dog": [det(0, 0, 9, 9, f32), det(20, 0, 29, 9, just_above)]}
    assert [d.score for d in keep_detections(cands, "single_object")["dog"]] == [just_above]
    # counting's 0.9: float32(0.9) is below 0.9, so float32 and float64 agree; the next one is kept
    nine = float(np.float32(0.9))
    above_nine = float(np.nextafter(np.float32(0.9), np.float32(1)))
    cands = {"dog": [det(0, 0, 9, 9, nine), det(20, 0, 29, 9, above_nine)]}
    assert [d.score for d in keep_detections(cands, "counting")["dog"]] == [above_nine]


def test_tied_scores_put_the_later_detection_first_as_upstream_does():
    # Upstream: np.argsort(scores)[::-1]. With <= 16 detections numpy's sort is stable, so the
    # reversal puts the later of two tied detections first (issue 17 item 12).
    first, second, third = det(0, 0, 9, 9, 0.8), det(20, 0, 29, 9, 0.8), det(40, 0, 49, 9, 0.95)
    kept = keep_detections({"apple": [first, second, third]}, "colors")["apple"]
    assert kept == [third, second, first]


def test_a_tie_decides_which_object_colour_and_position_judge():
    # Two tied apples: a red one detected first, a green one detected second. Upstream judges
    # the green one, so "a red apple" is wrong and "a green apple" right.
    red, green = det(0, 0, 9, 9, 0.8), det(60, 0, 69, 9, 0.8)
    kept = keep_detections({"apple": [red, green]}, "color_attr")
    paint = {red: "red", green: "green"}

    def colours(cls, objs):
        return [paint[o] for o in objs]

    asks_red = {"include": [{"class": "apple", "count": 1, "color": "red"}]}
    asks_green = {"include": [{"class": "apple", "count": 1, "color": "green"}]}
    assert not judge(kept, asks_red, colours).correct
    assert judge(kept, asks_green, colours).correct
    # Position: a cup at x 30-39 is right of the first apple and left of the second.
    meta = {"include": [{"class": "cup", "count": 1},
                        {"class": "apple", "count": 1, "position": ["right of", 0]}]}
    kept["cup"] = [det(30, 0, 39, 9)]
    assert judge(kept, meta, no_colour).correct  # the second apple (x 60-69) is judged


def test_order_among_many_ties_follows_numpy_1_23():
    # More than 16 detections: numpy 1.23's introsort (upstream's pin) reorders ties its own
    # way; metrics/geneval_order.py re-implements it (tests/metrics/test_geneval_order.py).
    from metrics.geneval_order import argsort

    scores = [0.5, 0.7] * 10  # 20 detections, two levels
    dets = [det(i * 10, 0, i * 10 + 5, 5, s) for i, s in enumerate(scores)]
    kept = keep_detections({"cup": dets}, "two_object", Rules(max_objects=20))["cup"]
    assert kept == [dets[i] for i in argsort(scores)[::-1]]
    assert [dets.index(d) for d in kept[:3]] != [19, 17, 15]  # not the stable reversal


def test_max_objects_caps_the_most_confident():
    cands = {"cup": [det(i * 10, 0, i * 10 + 5, 5, 0.4 + i / 100) for i in range(20)]}
    kept = keep_detections(cands, "single_object", Rules(max_objects=16))["cup"]
    assert len(kept) == 16 and kept[0].score == pytest.approx(0.59)


def test_overlap_suppression_only_below_one():
    a, b, c = det(0, 0, 99, 99, 0.9), det(1, 1, 99, 99, 0.8), det(200, 0, 299, 99, 0.7)
    assert len(keep_detections({"car": [a, b, c]}, "two_object")["car"]) == 3  # default 1.0: off
    kept = keep_detections({"car": [a, b, c]}, "two_object", Rules(max_overlap=0.5))["car"]
    assert kept == [a, c]  # b overlaps a (IoU ~0.98) and is less confident
    assert box_iou((0, 0, 9, 9), (0, 0, 9, 9)) == 1.0
    assert box_iou((0, 0, 9, 9), (10, 0, 19, 9)) == 0.0
    assert box_iou((0, 0, 9, 9), (5, 0, 14, 9)) == pytest.approx(50 / 150)


def test_counting_include_and_exclude():
    meta = {"include": [{"class": "clock", "count": 2}], "exclude": [{"class": "clock", "count": 3}]}
    two = {"clock": [det(0, 0, 9, 9), det(20, 0, 29, 9)]}
    assert judge(two, meta, no_colour).correct
    one = {"clock": two["clock"][:1]}
    verdict = judge(one, meta, no_colour)
    assert not verdict.correct and "expected clock>=2, found 1" in verdict.reason
    three = {"clock": [*two["clock"], det(40, 0, 49, 9)]}
    verdict = judge(three, meta, no_colour)
    assert not verdict.correct and "expected clock<3, found 3" in verdict.reason


def test_two_objects_need_both():
    meta = {"include": [{"class": "dog", "count": 1}, {"class": "cat", "count": 1}]}
    assert judge({"dog": [det(0, 0, 9, 9)], "cat": [det(20, 0, 29, 9)]}, meta, no_colour).correct
    assert not judge({"dog": [det(0, 0, 9, 9)]}, meta, no_colour).correct


@pytest.mark.parametrize(("a", "b", "expected"), [
    ((0, 40, 20, 60), (80, 40, 100, 60), {"left of"}),
    ((80, 40, 100, 60), (0, 40, 20, 60), {"right of"}),
    ((40, 0, 60, 20), (40, 80, 60, 100), {"above"}),
    ((40, 80, 60, 100), (40, 0, 60, 20), {"below"}),
    ((0, 0, 20, 20), (80, 80, 100, 100), {"left of", "above"}),  # far diagonal: both
    ((0, 0, 20, 20), (10, 10, 30, 30), set()),  # near diagonal: shrinking leaves < half on each
    ((40, 40, 60, 60), (42, 40, 62, 60), set()),  # offset inside 0.1 x the summed sizes
    ((0, 0, 20, 20), (100, 30, 120, 50), {"left of"}),  # mostly horizontal
])
def test_relative_position(a, b, expected):
    assert relative_position(det(*a), det(*b)) == expected


def test_position_clause_against_its_target_group():
    meta = {"include": [{"class": "teddy bear", "count": 1},
                        {"class": "dog", "count": 1, "position": ["right of", 0]}]}
    bear = det(0, 40, 20, 60)
    assert judge({"teddy bear": [bear], "dog": [det(80, 40, 100, 60)]}, meta, no_colour).correct
    verdict = judge({"teddy bear": [bear], "dog": [det(0, 80, 20, 100)]}, meta, no_colour)
    assert not verdict.correct and "expected dog right of target" in verdict.reason
    verdict = judge({"dog": [det(80, 40, 100, 60)]}, meta, no_colour)  # target missing
    assert not verdict.correct and "no target for dog to be right of" in verdict.reason


def test_colour_mismatch_and_match():
    meta = {"include": [{"class": "bus", "count": 1, "color": "green"},
                        {"class": "microwave", "count": 1, "color": "purple"}]}
    found = {"bus": [det(0, 0, 9, 9)], "microwave": [det(20, 0, 29, 9)]}
    asked = []

    def colours(answer):
        def classify(cls, objs):
            asked.append((cls, len(objs)))
            return [answer[cls]] * len(objs)
        return classify

    assert judge(found, meta, colours({"bus": "green", "microwave": "purple"})).correct
    assert asked == [("bus", 1), ("microwave", 1)]
    verdict = judge(found, meta, colours({"bus": "green", "microwave": "red"}))
    assert not verdict.correct and "expected purple microwave>=1, found 0 purple; and 1 red" in verdict.reason


def test_colour_is_judged_on_the_counted_most_confident_objects_only():
    meta = {"include": [{"class": "apple", "count": 1, "color": "red"}]}
    found = {"apple": [det(0, 0, 9, 9, 0.9), det(20, 0, 29, 9, 0.8)]}
    seen = []
    judge(found, meta, lambda cls, objs: seen.extend(objs) or ["red"] * len(objs))
    assert seen == found["apple"][:1]


def test_summary_is_the_mean_of_task_means():
    rows = [("counting", 1.0), ("counting", 0.0), ("counting", 0.0), ("counting", 1.0),
            ("colors", 1.0), ("position", math.nan)]
    summary = summarise(rows)
    assert summary.tasks == {"counting": 0.5, "colors": 1.0}
    assert summary.counts == {"counting": 4, "colors": 1}
    assert summary.overall == pytest.approx(0.75)  # not 3/5, the image mean
    assert math.isnan(summarise([]).overall)
