"""VQAScore through the real loading code on a tiny random Qwen2.5-VL saved locally."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from transformers import AutoModelForImageTextToText, AutoProcessor

from metrics import SCORERS, Kind, Sample
from metrics.vqascore import QUESTION, VQAScore

PROMPTS = ["a red cat on a table", "two blue dogs", "a photo of a red cat and two blue dogs on a table"]


def _images() -> list[Image.Image]:
    rng = np.random.default_rng(1)
    return [
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
        for h, w in ((64, 64), (40, 90), (56, 28))
    ]


def _p_yes_one_by_one(folder: Path, image: Image.Image, prompt: str) -> float:
    """Independent reference: unbatched, the answer appended as text, softmax at its position."""
    processor = AutoProcessor.from_pretrained(folder)
    model = AutoModelForImageTextToText.from_pretrained(folder).eval()
    messages = [{"role": "user", "content": [{"type": "image"},
                                             {"type": "text", "text": QUESTION.format(prompt)}]}]  # fmt: skip
    text = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    inputs = processor(text=[text + "Yes"], images=[image], return_tensors="pt")
    yes = processor.tokenizer("Yes", add_special_tokens=False).input_ids
    assert len(yes) == 1 and inputs["input_ids"][0, -1].item() == yes[0]
    with torch.no_grad():
        logits = model(**inputs).logits[0, -2]
    return logits.softmax(-1)[yes[0]].item()


def test_registered_with_declared_attributes() -> None:
    cls = SCORERS.get("vqascore")
    assert cls is VQAScore and cls.higher_is_better is True and cls.kind is Kind.PER_IMAGE
    assert QUESTION == 'Does this figure show "{}"? Please answer yes or no.'


def test_batched_scores_equal_unbatched_reference(tiny_vlm: Path) -> None:
    images = _images()
    scorer = VQAScore(model=str(tiny_vlm), batch_size=3)  # mixed lengths: exercises left padding
    got = scorer.score([Sample(im, p) for im, p in zip(images, PROMPTS, strict=True)])
    want = [_p_yes_one_by_one(tiny_vlm, im, p) for im, p in zip(images, PROMPTS, strict=True)]
    assert all(0.0 < v < 1.0 for v in got)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-7)
    assert len(set(np.round(got, 8))) > 1  # depends on the input


def test_other_answers_and_multi_token_answers(tiny_vlm: Path) -> None:
    sample = [Sample(_images()[0], PROMPTS[0])]
    p_yes = VQAScore(model=str(tiny_vlm)).score(sample)[0]
    p_no = VQAScore(model=str(tiny_vlm), answer="No").score(sample)[0]
    assert p_yes + p_no <= 1.0 + 1e-6
    # A multi-token answer is a product of probabilities, so it is smaller than 1 and positive.
    long = VQAScore(model=str(tiny_vlm), answer="Yes yes yes").score(sample)[0]
    assert 0.0 < long < 1.0


def test_identity_records_model_question_and_processor(tiny_vlm: Path) -> None:
    scorer = VQAScore(model=str(tiny_vlm))
    assert scorer.dtype == "float32"  # "auto" on CPU
    scorer.score([Sample(_images()[0], PROMPTS[0])])
    ident = scorer.identity()
    assert ident["model"] == str(tiny_vlm) and ident["question"] == QUESTION
    assert "Qwen2VLImageProcessor" in ident["preprocessing"] and "max_pixels" in ident["preprocessing"]


def test_bad_options_fail_fast() -> None:
    with pytest.raises(ValueError, match="dtype"):
        VQAScore(dtype="int8")
    with pytest.raises(ValueError, match="question"):
        VQAScore(question="Is this good?")
    assert VQAScore(device="cuda").dtype == "bfloat16"
