"""VQAScore on clips with a tiny random Qwen2.5-VL, against an unbatched reference."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import AutoModelForImageTextToText, AutoProcessor

from metrics import SCORERS, Kind, Modality, Sample
from metrics.vqascore import QUESTION
from tests.metrics._clips import moving_square, noise_clip

CLIPS = (moving_square(0), noise_clip(1))
PROMPTS = ("a red cat on a table", "two blue dogs")


def p_yes(folder: Path, frames: list, prompt: str) -> float:
    """Independent reference: one clip, the answer appended as text, softmax at its position."""
    processor = AutoProcessor.from_pretrained(folder)
    model = AutoModelForImageTextToText.from_pretrained(folder).eval()
    messages = [{"role": "user", "content": [{"type": "video"},
                                             {"type": "text", "text": QUESTION.format(prompt)}]}]
    text = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    inputs = processor(text=[text + "Yes"], videos=[frames], return_tensors="pt", do_sample_frames=False)
    yes = processor.tokenizer("Yes", add_special_tokens=False).input_ids
    assert "pixel_values_videos" in inputs and inputs["input_ids"][0, -1].item() == yes[0]
    with torch.no_grad():
        logits = model(**inputs).logits[0, -2]
    return logits.softmax(-1)[yes[0]].item()


def test_batched_clip_scores_equal_the_reference_on_the_sampled_frames(tiny_vlm: Path) -> None:
    cls = SCORERS.get("vqascore_video")
    assert cls.modality == Modality.VIDEO and cls.kind == Kind.PER_IMAGE and cls.higher_is_better
    samples = [Sample(c[4], p, frames=c) for c, p in zip(CLIPS, PROMPTS, strict=True)]
    got = cls(model=str(tiny_vlm), frames=3, batch_size=2).score(samples)
    # Three evenly spaced frames of nine: 0, 4 and 8.
    want = [p_yes(tiny_vlm, [c[0], c[4], c[8]], p) for c, p in zip(CLIPS, PROMPTS, strict=True)]
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-7)
    assert all(0.0 < v < 1.0 for v in got) and got[0] != pytest.approx(got[1])
    scorer = cls(model=str(tiny_vlm), frames=None)
    scorer.score(samples[:1])
    assert "every frame" in scorer.preprocessing() and scorer.identity()["frames"] is None


def test_an_image_sample_is_refused() -> None:
    with pytest.raises(ValueError, match="vqascore_video scores clips"):
        SCORERS.get("vqascore_video")()._visual([Sample(CLIPS[0][0], "p")])
