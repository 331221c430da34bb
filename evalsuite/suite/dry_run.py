"""``evalsuite run SUITE --dry-run``: what a suite will do, before any download.

Prints the images each variant generates (prompts x seeds, plus warm-up), the models to
download with their approximate sizes, and a time estimate for generation on the suite's
GPU. Nothing is loaded: prompt counts come from local copies when the suite names them and
from the sets' published sizes otherwise.

**Basis of the time estimate** (stated in the output too): FLUX-class transformers are
matmul-bound at 1024 px, so one denoising step costs the step's dense FLOPs (counted from
FLUX.1-dev's configuration: about 74 TFLOP at 1024x1024, scaled by token count for other
sizes) over the GPU's dense bf16 peak (vendor datasheet) at 50% utilisation, which is what
eager bf16 attains on an H100 (``bench/flux_shapes.py`` measures it). Every variant is
costed like the baseline, so the figure is an upper bound for cached, quantized or compiled
variants; compile adds its cold start once per variant, and scoring is not included.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from evalsuite.suite.overrides import effective_model
from evalsuite.suite.spec import Suite

# Published prompt counts of the registered sets (their upstream files).
SET_SIZES = {"smoke": 8, "drawbench": 200, "parti": 1632, "hpsv2": 3200, "geneval": 553}

# Dense bf16 tensor-core peak, TFLOP/s, from the vendors' datasheets (no sparsity).
PEAK_BF16_TFLOPS = {"H100": 989.0, "H200": 989.0, "B200": 2250.0, "A100-80GB": 312.0,
                    "L40S": 362.0, "L4": 121.0, "T4": 65.0, "RTX4090": 165.0}
UTILISATION = 0.5
FLUX_DEV_STEP_TFLOP_1024 = 74.0  # bench/flux_shapes.py counts 74 TFLOP per step at 1024x1024

# Approximate download sizes (GB) of the default weights: parameter count x bytes per
# parameter of the published files. Keyed by what is downloaded; shared files count once.
MODEL_SIZES_GB = {
    "black-forest-labs/FLUX.1-dev": 33.7,  # transformer 23.8 + T5-XXL 9.5 + CLIP-L 0.25 + VAE 0.17
    "black-forest-labs/FLUX.1-schnell": 33.7,
    "THUDM/ImageReward": 1.8, "google-bert/bert-base-uncased (tokenizer)": 0.001,
    "openai/clip-vit-large-patch14": 1.7, "openai/clip-vit-base-patch16": 0.6,
    "openai/clip-vit-large-patch14-336": 1.7, "yuvalkirstain/PickScore_v1": 3.9,
    "laion/CLIP-ViT-H-14-laion2B-s32B-b79K (processor)": 0.004,
    "facebook/mask2former-swin-small-coco-instance": 0.28,
    "ARNIQA.pth + regressor_koniq10k.pth (torch.hub)": 0.1,
    "torchvision alexnet ImageNet weights (torch.hub)": 0.24,
    "xswu/HPSv2 (HPS_v2.1_compressed.pt)": 2.0, "Qwen/Qwen2.5-VL-7B-Instruct": 16.6,
}
# What each scorer downloads with its default options.
METRIC_DOWNLOADS = {
    "image_reward": ("THUDM/ImageReward", "google-bert/bert-base-uncased (tokenizer)"),
    "clip_score": ("openai/clip-vit-large-patch14",),
    "clip_iqa": ("openai/clip-vit-base-patch16",),
    "cmmd": ("openai/clip-vit-large-patch14-336",),
    "pickscore": ("yuvalkirstain/PickScore_v1", "laion/CLIP-ViT-H-14-laion2B-s32B-b79K (processor)"),
    "geneval": ("facebook/mask2former-swin-small-coco-instance", "openai/clip-vit-large-patch14"),
    "arniqa": ("ARNIQA.pth + regressor_koniq10k.pth (torch.hub)",),
    "lpips": ("torchvision alexnet ImageNet weights (torch.hub)",),
    "hpsv2": ("xswu/HPSv2 (HPS_v2.1_compressed.pt)",),
    "vqascore": ("Qwen/Qwen2.5-VL-7B-Instruct",),
}
# Options that point a scorer at other weights (then its default downloads do not apply).
WEIGHT_OPTIONS = {"model", "detector", "clip", "processor", "weights_dir", "backbone_weights"}


@dataclass(frozen=True)
class Plan:
    """What a run of the suite does: images, downloads and the generation-time bound."""

    prompts: int
    prompts_exact: bool
    images: dict[str, int]  # variant -> timed images (warm-up excluded)
    warmup: int
    downloads: dict[str, float | None]  # what -> GB (None: unknown)
    gpu: str
    seconds_per_image: float | None
    compile_variants: int


def count_prompts(suite: Suite) -> tuple[int, bool]:
    """(number of prompts, exact?) without downloading: local sets are read, others counted."""
    from prompts.config import resolve_prompts

    sel = suite.prompts
    local = dict(sel.paths)
    if all(s in local for s in sel.sets):  # everything is on disk: count exactly
        return len(resolve_prompts(sel)), True
    limits = dict(sel.set_limits)
    n = sum(min(limits.get(s, SET_SIZES.get(s, 0)), SET_SIZES.get(s, 0)) for s in sel.sets)
    n += sum(len(f.load()) for f in sel.files)
    exact = not (sel.categories or sel.dedupe) and all(s in SET_SIZES for s in sel.sets)
    return (min(n, sel.limit) if sel.limit else n), exact


def plan(suite: Suite, gpu: str | None = None) -> Plan:
    """The dry-run plan of ``suite``, with generation time estimated for ``gpu`` (default: the suite's)."""
    n_prompts, exact = count_prompts(suite)
    per_variant = n_prompts * len(suite.prompts.seeds)
    downloads: dict[str, float | None] = {}
    model = suite.model.id
    for v in suite.variants:  # the suite's model, and each variant's own model and LoRA
        mine = effective_model(suite.model, v)
        if _on_hub(mine.id):
            downloads[mine.id] = MODEL_SIZES_GB.get(mine.id)
        if mine.lora is not None and _on_hub(mine.lora.path) and not mine.lora.path.endswith(".safetensors"):
            names = (mine.lora.weight_name or "default file", mine.lora.weight_name_2)
            files = " + ".join(f for f in names if f)
            downloads[f"{mine.lora.path} (LoRA {files})"] = None
    for use in suite.metrics:
        if WEIGHT_OPTIONS & {k for k, _ in use.options}:
            continue  # the suite points this scorer at its own copy
        for what in METRIC_DOWNLOADS.get(use.name, ()):
            downloads[what] = MODEL_SIZES_GB.get(what)
    gpu = gpu or suite.hardware.gpu
    peak = PEAK_BF16_TFLOPS.get(gpu)
    seconds = None
    if peak and "flux" in model.lower():
        tokens = (suite.model.height // 16) * (suite.model.width // 16) + 512
        step_tflop = FLUX_DEV_STEP_TFLOP_1024 * tokens / (4096 + 512)
        seconds = suite.model.steps * step_tflop / (peak * UTILISATION)
    compiles = sum(any(u.name == "compile" for u in v.accelerators) for v in suite.variants)
    return Plan(n_prompts, exact, {v.name: per_variant for v in suite.variants}, suite.run.warmup,
                downloads, gpu, seconds, compiles)


def _on_hub(model_id: str) -> bool:
    """Whether ``model_id`` is downloaded: a hub id (owner/name), not a tiny built-in ("tiny",
    "tiny-qwen-image", ...: built locally; the suite sits below models.tiny), a random model or a
    local path."""
    return not model_id.startswith(("tiny", "random:", "/", ".", "~")) and model_id.count("/") == 1


def _gb(x: float | None) -> str:
    return "size unknown" if x is None else f"~{x:.3g} GB"


def format_plan(p: Plan, suite: Suite) -> str:
    """The plan as the text ``--dry-run`` prints."""
    total = sum(p.images.values())
    warm = p.warmup * len(p.images)
    lines = [f"suite {suite.name}: {len(p.images)} variants x "
             f"{'' if p.prompts_exact else '~'}{p.prompts} prompts x {len(suite.prompts.seeds)} seeds",
             f"images to generate: {total} timed + {warm} warm-up"]
    lines += [f"  {name}: {n}" for name, n in p.images.items()]
    known = [x for x in p.downloads.values() if x is not None]
    lines.append(f"models to download (unless cached): {_gb(sum(known)) if known else 'none'}"
                 + (" + unknown" if len(known) < len(p.downloads) else ""))
    lines += [f"  {what}: {_gb(gb)}" for what, gb in p.downloads.items()]
    if p.seconds_per_image is None:
        lines.append(f"time: no estimate for model {suite.model.id!r} on GPU {p.gpu!r} "
                     f"(known GPUs: {', '.join(PEAK_BF16_TFLOPS)}; set [hardware] gpu)")
    else:
        hours = (total + warm) * p.seconds_per_image / 3600
        lines.append(f"time on {p.gpu}: <= {hours:.1f} h of generation "
                     f"({p.seconds_per_image:.1f} s/image for every variant"
                     + (f", plus compile warm-up in {p.compile_variants} variants)" if p.compile_variants
                        else ")"))
        lines.append(f"  basis: {suite.model.steps} steps x dense FLOPs per step (FLUX.1-dev "
                     f"config, {FLUX_DEV_STEP_TFLOP_1024:g} TFLOP at 1024x1024) / "
                     f"({PEAK_BF16_TFLOPS[p.gpu]:g} TFLOP/s bf16 peak x {UTILISATION:g}); "
                     "accelerated variants are faster; scoring not included")
    return "\n".join(lines)


def dry_run(suite: Suite, gpu: str | None = None, out: Callable[[str], None] = print) -> Plan:
    """Print the plan of ``suite`` and return it."""
    p = plan(suite, gpu)
    out(format_plan(p, suite))
    return p
