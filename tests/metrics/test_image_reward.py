"""ImageReward on a tiny random checkpoint in the official layout, through the real loader."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from metrics import SCORERS, Kind, Sample
from metrics._weights import MissingWeights
from metrics.image_reward import MAX_TOKENS, ImageReward, image_transform, load_tokenizer
from tests.metrics._tiny_blip import reference_rewards, tiny_state_dict, write_bert_vocab

PROMPTS = [
    "A photo of a red cat",
    "the blue dogs on the table",
    # Longer than 35 tokens: the package truncates, and so must we.
    " ".join(["a red cat and a blue dog on the table"] * 6),
    "zebra",  # out of vocabulary -> [UNK]
]


def _images() -> list[Image.Image]:
    rng = np.random.default_rng(0)
    shapes = [(256, 256, 3), (300, 200, 3), (180, 320, 4), (224, 224, 3)]
    modes = ["RGB", "RGB", "RGBA", "RGB"]
    return [
        Image.fromarray(rng.integers(0, 256, s, dtype=np.uint8), mode=m)
        for s, m in zip(shapes, modes, strict=True)
    ]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, torch.Tensor]]:
    root = tmp_path_factory.mktemp("image_reward")
    vocab = write_bert_vocab(root / "tokenizer")
    state = tiny_state_dict(vocab_size=len(load_tokenizer(str(vocab), None)))
    torch.save(state, root / "ImageReward.pt")
    return root, vocab, state


def test_registered_with_declared_attributes() -> None:
    cls = SCORERS.get("image_reward")
    assert cls is ImageReward
    assert cls.higher_is_better is True and cls.kind is Kind.PER_IMAGE and cls.ideal is None


def test_scores_match_reference_forward(tiny: tuple[Path, Path, dict]) -> None:
    root, vocab, state = tiny
    scorer = ImageReward(model=str(root), tokenizer=str(vocab), batch_size=3)
    images = _images()
    got = scorer.score([Sample(im, p) for im, p in zip(images, PROMPTS, strict=True)])

    tok = load_tokenizer(str(vocab), None)
    enc = tok(PROMPTS, padding="max_length", truncation=True, max_length=MAX_TOKENS, return_tensors="pt")
    assert enc.input_ids.shape == (4, MAX_TOKENS) and enc.attention_mask[2].all()
    assert enc.input_ids[3, 1].item() == tok.unk_token_id
    pixels = torch.stack([image_transform(224)(im) for im in images])
    want = reference_rewards(state, pixels, enc.input_ids, enc.attention_mask)

    assert all(math.isfinite(v) for v in got)
    assert float(want.std()) > 0.05  # the fixture is not degenerate: scores really differ
    np.testing.assert_allclose(got, want.tolist(), atol=1e-5, rtol=0)


def test_batching_does_not_change_scores(tiny: tuple[Path, Path, dict]) -> None:
    root, vocab, _ = tiny
    samples = [Sample(im, p) for im, p in zip(_images(), PROMPTS, strict=True)]
    one = ImageReward(model=str(root / "ImageReward.pt"), tokenizer=str(vocab), batch_size=1)
    four = ImageReward(model=str(root), tokenizer=str(vocab), batch_size=4)
    np.testing.assert_allclose(one.score(samples), four.score(samples), atol=1e-5)


def test_preprocessing_resizes_before_converting_to_rgb() -> None:
    # Fully transparent red. PIL resizes RGBA with premultiplied alpha, so resizing first (the
    # package's order) turns it black; converting to RGB first would keep it red.
    image = Image.new("RGBA", (448, 300), (255, 0, 0, 0))
    x = image_transform(224)(image)
    assert x.shape == (3, 224, 224)
    black = (0.0 - 0.48145466) / 0.26862954
    assert torch.allclose(x[0], torch.full((224, 224), black), atol=1e-4)


def test_identity_records_model_revision_and_preprocessing(tiny: tuple[Path, Path, dict]) -> None:
    root, vocab, _ = tiny
    scorer = ImageReward(model=str(root), tokenizer=str(vocab))
    scorer.score([Sample(_images()[0], PROMPTS[0])])
    ident = scorer.identity()
    assert ident["name"] == "image_reward" and ident["model"] == str(root)
    assert ident["revision"].startswith("sha256:") and ident["dtype"] == "float32"
    assert "35 tokens" in ident["preprocessing"] and "bicubic" in ident["preprocessing"]


def test_refuses_a_checkpoint_with_missing_weights(tiny: tuple[Path, Path, dict], tmp_path: Path) -> None:
    _, vocab, state = tiny
    # The package loads with strict=False and would score with a random layer; we refuse.
    partial = {k: v for k, v in state.items() if k != "blip.text_encoder.encoder.layer.1.output.dense.weight"}
    torch.save(partial, tmp_path / "ImageReward.pt")
    with pytest.raises(ValueError, match="lacks text weights"):
        ImageReward(model=str(tmp_path), tokenizer=str(vocab)).load()


def test_loads_lazily_and_rejects_foreign_checkpoints(tmp_path: Path) -> None:
    scorer = ImageReward(model=str(tmp_path / "missing.pt"))  # nothing is read yet
    with pytest.raises(MissingWeights, match="missing.pt"):
        scorer.score([Sample(Image.new("RGB", (32, 32)), "a cat")])
    torch.save({"visual.weight": torch.zeros(2)}, tmp_path / "ImageReward.pt")
    with pytest.raises(ValueError, match="not an ImageReward checkpoint"):
        ImageReward(model=str(tmp_path)).load()
    with pytest.raises(ValueError, match="dtype"):
        ImageReward(dtype="float64")
