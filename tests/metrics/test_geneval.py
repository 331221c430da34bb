"""GenEval through the real loaders on a tiny random Mask2Former and a tiny random CLIP."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from metrics.base import Sample
from metrics.geneval import TEMPLATES, ColourClassifier, GenEval, colour_autocast
from metrics.geneval_detector import (
    InputSize,
    detect,
    detector_input_size,
    load_detector,
    mmdet_input_size,
)
from metrics.geneval_rules import COLORS, Detection
from tests.metrics._tiny_clip import random_images, save_tiny_clip
from tests.metrics._tiny_mask2former import save_tiny_mask2former


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("geneval")
    return save_tiny_mask2former(root / "det"), save_tiny_clip(root / "clip")


def scorer(folders, **kw) -> GenEval:
    det, clip = folders
    return GenEval(detector=str(det), clip=str(clip), detector_size=64, **kw)


def geneval_sample(image, prompt, tag, include, exclude=None) -> Sample:
    meta = {"include": include, **({"exclude": exclude} if exclude else {})}
    return Sample(image, prompt, category=tag, meta=meta)


def test_detections_follow_mmdet_postprocessing(folders):
    net, processor = load_detector(str(folders[0]), None, "cpu", torch.float32)
    images = random_images(2, sizes=((80, 48), (48, 64)))
    found = detect(net, processor, images, size={"shortest_edge": 64, "longest_edge": 107})
    for im, per_class in zip(images, found, strict=True):
        # Top 100 (query, class) pairs: the 10 queries' dog (p ~ 1) and 90 near-zero others.
        assert sum(len(v) for v in per_class.values()) == 100
        assert max(d.score for c, v in per_class.items() if c != "dog" for d in v) < 1e-6
        dogs = per_class["dog"]
        assert len(dogs) == 10
        for d in dogs:
            assert d.mask.shape == (im.height, im.width) and d.mask.dtype == bool
            if d.mask.any():  # box = tight mask extent, exclusive right/bottom
                ys, xs = np.nonzero(d.mask)
                assert d.box == (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
                assert 0.5 <= d.score <= 1.0  # p(dog) ~ 1 times mean sigmoid of positive logits
            else:
                assert d.score == 0.0 and d.box == (0, 0, 0, 0)


@pytest.mark.parametrize(("hw", "size", "expected"), [
    ((512, 768), None, InputSize((800, 1200), (800, 1216))),  # was stretched to 800x1216
    ((600, 1000), None, InputSize((800, 1333), (800, 1344))),  # was 800x1344: past the 1333 cap
    ((768, 512), None, InputSize((1200, 800), (1216, 800))),
    ((1024, 1024), None, InputSize((800, 800), (800, 800))),
    ((400, 2000), None, InputSize((267, 1333), (288, 1344))),  # long side caps: 1333/2000
    ((512, 768), {"shortest_edge": 64, "longest_edge": 107}, InputSize((64, 96), (64, 96))),
    ((37, 50), {"shortest_edge": 64, "longest_edge": 107}, InputSize((64, 86), (64, 96))),
])
def test_input_size_is_mmdetections_keep_ratio_resize_then_pad(hw, size, expected):
    # mmcv rescale_size: factor min(1333 / long, 800 / short), sides int(x * factor + 0.5);
    # then Pad(size_divisor=32) (issue 17 item 13).
    assert mmdet_input_size(*hw, size) == expected


def test_detector_input_keeps_the_aspect_ratio_and_pads_each_size_alone(folders):
    net, processor = load_detector(str(folders[0]), None, "cpu", torch.float32)
    seen = []
    hook = net.register_forward_pre_hook(
        lambda _m, _a, kw: seen.append((kw["pixel_values"].clone(), kw["pixel_mask"].clone())),
        with_kwargs=True)
    try:
        images = random_images(3, sizes=((768, 512), (1000, 600)), seed=3)  # (w, h)
        # Scale 333x200 (detector_size = 200) keeps the tiny model quick; the rule is the same:
        # 768x512 -> 300x200 padded to 320x224, 1000x600 -> 333x200 padded to 352x224.
        found = detect(net, processor, images, size=detector_input_size(200))
    finally:
        hook.remove()
    shapes = sorted(tuple(px.shape) for px, _ in seen)
    assert shapes == [(1, 3, 224, 352), (2, 3, 224, 320)]  # one pass per input size
    for px, mask in seen:
        w = 300 if px.shape[0] == 2 else 333
        assert bool(mask[:, :200, :w].all()) and int(mask.sum()) == px.shape[0] * 200 * w
        assert bool((px[..., w:] == 0).all()) and bool((px[..., 200:, :] == 0).all())  # zero pad
        assert bool(px[..., 199, w - 1].abs().sum() > 0)  # the image fills its whole valid area
    for im, per_class in zip(images, found, strict=True):  # masks back at the image's own size
        assert all(d.mask.shape == (im.height, im.width) for v in per_class.values() for d in v)


def test_scorer_judges_prompts(folders):
    images = random_images(3, sizes=((64, 64),), seed=1)
    samples = [
        geneval_sample(images[0], "a photo of a dog", "single_object", [{"class": "dog", "count": 1}]),
        geneval_sample(images[1], "a photo of a cat", "single_object", [{"class": "cat", "count": 1}]),
        geneval_sample(images[2], "a photo of two dogs", "counting",
                       [{"class": "dog", "count": 2}], [{"class": "dog", "count": 3}]),
    ]
    geneval = scorer(folders, batch_size=2)
    # Counting keeps only scores above 0.9; a lower threshold lets every dog through, > 3.
    assert geneval.score(samples) == [1.0, 0.0, 0.0]
    assert scorer(folders, threshold=0.999).score(samples[:1]) == [0.0]


def test_colour_classifier_matches_hand_computation(folders):
    from transformers import CLIPModel, CLIPProcessor

    clip_dir = folders[1]
    model, processor = CLIPModel.from_pretrained(clip_dir).eval(), CLIPProcessor.from_pretrained(clip_dir)
    classify = ColourClassifier(model, processor)
    image = Image.fromarray(np.full((40, 60, 3), (200, 10, 10), dtype=np.uint8))
    mask = np.zeros((40, 60), dtype=bool)
    mask[5:15, 10:30] = True
    obj = Detection((10, 5, 40, 25), 0.9, mask)
    crop = classify.crops(image, [obj])[0]
    assert crop.size == (30, 20)
    assert crop.getpixel((0, 0)) == (200, 10, 10) and crop.getpixel((25, 15)) == (153, 153, 153)
    with torch.no_grad():
        def unit(x):
            x = x if isinstance(x, torch.Tensor) else x.pooler_output
            return x / x.norm(dim=-1, keepdim=True)
        columns = []
        for c in COLORS:
            tok = processor(text=[t.format(c=c, cls="car") for t in TEMPLATES], padding=True,
                            return_tensors="pt")
            m = unit(model.get_text_features(**tok)).mean(0)
            columns.append(m / m.norm())
        img = unit(model.get_image_features(**processor(images=[crop], return_tensors="pt")))
        expected = COLORS[int((img @ torch.stack(columns, 1)).argmax())]
    assert classify(image, "car", [obj]) == [expected]


def test_colour_precision_is_upstreams_float16_autocast_on_cuda():
    # Upstream's clip-benchmark 1.4.0 run_classification(amp=True) autocasts on CUDA (issue 17
    # item 14); the CPU stays float32 unless float16 autocast is asked for.
    assert colour_autocast("cuda", "amp") is torch.float16
    assert colour_autocast("cuda:1", "amp") is torch.float16
    assert colour_autocast("cpu", "amp") is None
    assert colour_autocast("cpu", "float16") is torch.float16
    assert colour_autocast("cuda", "float32") is None
    with pytest.raises(ValueError, match="colour_precision must be one of amp, float16, float32"):
        colour_autocast("cuda", "bfloat16")


def test_colour_classifier_autocasts_the_image_side_only(folders):
    from transformers import CLIPModel, CLIPProcessor

    model = CLIPModel.from_pretrained(folders[1]).eval()
    processor = CLIPProcessor.from_pretrained(folders[1])
    classify = ColourClassifier(model, processor, amp=torch.float16)
    dtypes: dict[str, torch.dtype] = {}

    def record(name):
        def hook(_module, _inputs, out):
            dtypes.setdefault(name, out.dtype)
        return hook

    for name in ("visual_projection", "text_projection"):
        getattr(model, name).register_forward_hook(record(name))
    images = random_images(6, sizes=((48, 40),), seed=5)
    box = Detection((4, 4, 40, 36), 0.9, None)
    got = [classify(im, "car", [box])[0] for im in images]
    assert dtypes == {"text_projection": torch.float32, "visual_projection": torch.float16}
    assert classify.classifier("car").dtype == torch.float32  # built outside autocast
    # By hand, upstream's order: float32 classifier; under autocast encode, normalise, 100x, matmul.
    clf = classify.classifier("car")
    for im, colour in zip(images, got, strict=True):
        pixels = processor(images=classify.crops(im, [box]), return_tensors="pt")["pixel_values"]
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.float16):
            out = model.get_image_features(pixel_values=pixels)
            emb = (out if isinstance(out, torch.Tensor) else out.pooler_output).float()
            logits = 100.0 * torch.nn.functional.normalize(emb, dim=-1) @ clf
        assert logits.dtype == torch.float16 and COLORS[int(logits.argmax())] == colour


def test_identity_records_the_colour_precision(folders):
    assert scorer(folders).identity()["colour_precision"] == "no autocast"  # CPU default
    assert scorer(folders, colour_precision="float16").identity()["colour_precision"] == "float16 autocast"


def test_non_geneval_prompts_are_skipped_with_a_reason(folders):
    geneval = scorer(folders)
    plain = Sample(random_images(1)[0], "a cat")
    assert geneval.skip_reason(plain) == "not a GenEval prompt (no object metadata)"
    with pytest.raises(ValueError, match="not a GenEval prompt"):
        geneval.score([plain])


def test_identity_and_missing_weights(folders, tmp_path):
    ident = scorer(folders).identity()
    assert ident["rules"]["threshold"] == 0.3 and ident["dtype"] == "float32"
    assert ident["detector"]["model"] == str(folders[0].resolve())
    from metrics._weights import MissingWeights

    missing = GenEval(detector=str(tmp_path / "nothing"), clip=str(folders[1]))
    with pytest.raises(MissingWeights, match=r"\[metrics.geneval\] detector = "):
        missing.score([geneval_sample(random_images(1)[0], "a dog", "single_object",
                                      [{"class": "dog", "count": 1}])])
