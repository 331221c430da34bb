"""Missing weights: one error per scorer naming the model looked for and how to point at a copy."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from metrics import SCORERS
from metrics._weights import MissingWeights, loading, missing_message
from metrics.base import Sample

SAMPLE = Sample(Image.new("RGB", (32, 32)), "a cat", reference=Image.new("RGB", (32, 32)),
                meta={"include": [{"class": "cat", "count": 1}]})

# Scorer -> (option taking a local copy, what to give it). ARNIQA is left out: an empty
# weights_dir makes torch.hub try a download, which a test must not do.
CASES = {
    "clip_score": ("model", "absent"), "clip_iqa": ("model", "absent"), "cmmd": ("model", "absent"),
    "image_reward": ("model", "absent"), "hpsv2": ("model", "absent"),
    "vqascore": ("model", "absent"), "pickscore": ("model", "absent"),
    "geneval": ("detector", "absent"), "lpips": ("backbone_weights", "absent/alexnet.pth"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_missing_local_weights_name_the_path_and_the_option(name: str, tmp_path: Path) -> None:
    option, value = CASES[name]
    path = str(tmp_path / value)
    scorer = SCORERS.get(name)(**{option: path})
    with pytest.raises(MissingWeights) as info:
        if scorer.kind == "set":
            scorer.score_set([SAMPLE.image] * 2, [SAMPLE.image] * 2)
        else:
            scorer.score([SAMPLE])
    text = str(info.value)
    assert text.startswith(f"{name}: cannot load weights from local path {path!r}")
    assert f'[metrics.{name}] {option} = "/path/to/local/copy"' in text and "\n" not in text


def test_image_reward_folder_without_its_checkpoint_lists_what_it_holds(tmp_path: Path) -> None:
    for f in ("model.safetensors", "ImageReward_v1.pt", "notes.txt"):
        (tmp_path / f).write_bytes(b"")
    with pytest.raises(MissingWeights, match=r"has no ImageReward\.pt; checkpoint files it holds: "
                                             r"ImageReward_v1\.pt, model\.safetensors\)$"):
        SCORERS.get("image_reward")(model=str(tmp_path)).score([SAMPLE])


def test_hub_ids_and_cache_variables_are_named() -> None:
    text = missing_message("pickscore", "yuvalkirstain/PickScore_v1", "model")
    assert "hub id 'yuvalkirstain/PickScore_v1'" in text and "$HF_HOME" in text
    with (pytest.raises(MissingWeights, match=r"\$TORCH_HOME.*weights_dir"),
          loading("arniqa", "https://example/ARNIQA.pth", "weights_dir", "TORCH_HOME")):
        raise ConnectionError("unreachable")  # an OSError, as urllib raises offline
    with pytest.raises(KeyError), loading("arniqa", "x", "weights_dir"):  # others pass through
        raise KeyError("bug")
