"""Milliseconds per denoising step of a FLUX.1-dev-shaped transformer, against a FLOP floor.

Builds ``FluxTransformer2DModel`` with FLUX.1-dev's exact configuration and random weights
(no download, no gated model) and times one denoising step at 1024x1024 (4096 image tokens
+ 512 text tokens) for: bf16 eager, torch.compile, torchao FP8 dynamic, FP8 + compile, and a
forced 50% cache-skip pattern (diffusers' First Block Cache with its decision replaced by
"skip every other step"). Beside each it prints the FLOP floor: the step's dense FLOPs
(~74 TFLOP, counted from the config) divided by this GPU's measured dense bf16 matmul rate.
Target: compiled bf16 within 1.3x of the floor.

GPU run (H100/H200, ~40 GB free; FP8 needs compute capability >= 8.9)::

    python bench/flux_shapes.py                    # all variants
    python bench/flux_shapes.py --variants eager compile --iters 20

CPU smoke run (tiny config, float32, seconds): ``python bench/flux_shapes.py --tiny``.
"""

from __future__ import annotations

import argparse
import gc
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from evalsuite.models.random_flux import FLUX_DEV_TRANSFORMER as FLUX_DEV  # FLUX.1-dev's config.json
from evalsuite.models.random_flux import FLUX_TINY_TRANSFORMER as TINY

VARIANTS = ("eager", "compile", "fp8", "fp8+compile", "cache50")
TARGET_RATIO = 1.3


@dataclass(frozen=True)
class Shape:
    """Model configuration and token counts of one benchmark setting."""

    config: dict[str, Any]
    image_tokens: int
    text_tokens: int

    @property
    def dim(self) -> int:
        return self.config["num_attention_heads"] * self.config["attention_head_dim"]


@dataclass(frozen=True)
class Row:
    """One variant's result."""

    variant: str
    ms_per_step: float | None
    floor_ms: float
    note: str = ""

    @property
    def ratio(self) -> float | None:
        return None if self.ms_per_step is None else self.ms_per_step / self.floor_ms


def block_flops(shape: Shape) -> tuple[float, float]:
    """Dense FLOPs of one double block and one single block (matmuls + attention)."""
    d, s = shape.dim, shape.image_tokens + shape.text_tokens
    # Per token: QKV (3d^2) + out (d^2) + MLP d->4d->d (8d^2) multiply-adds, both streams alike.
    double = 2 * s * 12 * d * d
    # Per token: QKV (3d^2) + MLP in (4d^2) + proj_out from 5d (5d^2) multiply-adds.
    single = 2 * s * 12 * d * d
    attention = 4 * s * s * d  # QK^T and AV over the joint sequence
    return double + attention, single + attention


def step_flops(shape: Shape, head_only: bool = False) -> float:
    """Dense FLOPs of one transformer call (``head_only``: a cached step runs block 0 only)."""
    double, single = block_flops(shape)
    if head_only:
        return double
    return shape.config["num_layers"] * double + shape.config["num_single_layers"] * single


def matmul_rate(dtype: torch.dtype, device: str, n: int, iters: int = 10) -> float:
    """Measured dense matmul FLOP/s for n x n x n in ``dtype``."""
    a = torch.randn(n, n, dtype=dtype, device=device)
    b = torch.randn(n, n, dtype=dtype, device=device)
    ms = time_ms(lambda: a @ b, device, warmup=3, iters=iters)
    return 2 * n**3 / (ms / 1e3)


def time_ms(fn: Callable[[], Any], device: str, warmup: int, iters: int) -> float:
    """Median milliseconds of ``fn`` after ``warmup`` calls, device-synchronised."""
    for _ in range(warmup):
        fn()
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    times = []
    for _ in range(iters):
        sync()
        start = time.perf_counter()
        fn()
        sync()
        times.append((time.perf_counter() - start) * 1e3)
    return sorted(times)[len(times) // 2]


def build(shape: Shape, dtype: torch.dtype, device: str) -> Any:
    """A FLUX transformer with random weights."""
    from diffusers import FluxTransformer2DModel

    torch.manual_seed(0)
    default = torch.get_default_dtype()
    torch.set_default_dtype(dtype)  # initialise in the target dtype: no 48 GB float32 detour
    try:
        with torch.device(device):
            model = FluxTransformer2DModel(**shape.config)
    finally:
        torch.set_default_dtype(default)
    return model.eval().requires_grad_(False)


def inputs(shape: Shape, dtype: torch.dtype, device: str) -> dict[str, Any]:
    """One denoising step's arguments, positions laid out as a square latent grid."""
    side = math.isqrt(shape.image_tokens)
    img_ids = torch.zeros(side, side, 3)
    img_ids[..., 1] = torch.arange(side)[:, None]
    img_ids[..., 2] = torch.arange(side)[None, :]
    c = shape.config
    return dict(
        hidden_states=torch.randn(1, shape.image_tokens, c["in_channels"], dtype=dtype, device=device),
        encoder_hidden_states=torch.randn(1, shape.text_tokens, c["joint_attention_dim"], dtype=dtype,
                                          device=device),
        pooled_projections=torch.randn(1, c["pooled_projection_dim"], dtype=dtype, device=device),
        timestep=torch.tensor([0.5], dtype=dtype, device=device),
        guidance=torch.tensor([3.5], dtype=dtype, device=device),
        img_ids=img_ids.reshape(-1, 3).to(device), txt_ids=torch.zeros(shape.text_tokens, 3, device=device),
        return_dict=False,
    )


def forced_half_skip(model: Any) -> None:
    """diffusers' First Block Cache whose decision alternates compute / skip."""
    from diffusers.hooks import FirstBlockCacheConfig
    from diffusers.hooks.first_block_cache import FBCHeadBlockHook

    model.enable_cache(FirstBlockCacheConfig(threshold=0.0))
    head = next(h for m in model.modules() if (r := getattr(m, "_diffusers_hook", None))
                for h in r.hooks.values() if isinstance(h, FBCHeadBlockHook))
    calls = [0]

    def alternate(_residual: Any) -> bool:
        calls[0] += 1
        return calls[0] % 2 == 1 or head.state_manager.get_state().tail_block_residuals is None

    head._should_compute_remaining_blocks = alternate


def prepare(variant: str, shape: Shape, dtype: torch.dtype, device: str, mode: str) -> Callable[[], Any]:
    """The model for ``variant`` as a no-argument step function."""
    model = build(shape, dtype, device)
    if variant.startswith("fp8"):
        from torchao.quantization import Float8DynamicActivationFloat8WeightConfig, PerRow, quantize_

        quantize_(model, Float8DynamicActivationFloat8WeightConfig(granularity=PerRow()))
    if variant.endswith("compile"):
        model = torch.compile(model, mode=None if mode == "default" else mode, fullgraph=True)
    args = inputs(shape, dtype, device)
    if variant == "cache50":
        forced_half_skip(model)

        def step() -> Any:
            with model.cache_context("bench"):
                return model(**args)

        return step
    return lambda: model(**args)


def skip_reason(variant: str, device: str) -> str | None:
    """Why ``variant`` cannot run here, or None."""
    if variant.startswith("fp8") and (
            not device.startswith("cuda") or torch.cuda.get_device_capability(device) < (8, 9)):
        return "skipped: FP8 dynamic needs CUDA compute capability >= 8.9"
    return None


def run(variants: Sequence[str], tiny: bool, warmup: int, iters: int, mode: str) -> list[Row]:
    """Time each variant; return rows with their FLOP floors."""
    device = "cuda" if torch.cuda.is_available() and not tiny else "cpu"
    dtype = torch.float32 if tiny else torch.bfloat16
    shape = Shape(TINY, 64, 16) if tiny else Shape(FLUX_DEV, 4096, 512)
    rate = matmul_rate(dtype, device, 512 if tiny else 8192)
    full, head = step_flops(shape), step_flops(shape, head_only=True)
    print(f"device {device} | dense {str(dtype)[6:]} matmul {rate / 1e12:.3g} TFLOP/s | "
          f"{full / 1e12:.3g} TFLOP/step ({shape.image_tokens}+{shape.text_tokens} tokens)")
    rows = []
    with torch.inference_mode():
        for variant in variants:
            flops = (full + head) / 2 if variant == "cache50" else full
            floor = flops / rate * 1e3
            if (reason := skip_reason(variant, device)) is not None:
                rows.append(Row(variant, None, floor, reason))
                continue
            step = prepare(variant, shape, dtype, device, mode)
            ms = time_ms(step, device, warmup, iters * (2 if variant == "cache50" else 1))
            rows.append(Row(variant, ms, floor))
            del step
            gc.collect()
            if device == "cuda":
                torch.cuda.empty_cache()
    return rows


def report(rows: Sequence[Row]) -> str:
    """The results table."""
    lines = [f"{'variant':14} {'ms/step':>10} {'floor ms':>10} {'x floor':>8}"]
    for r in rows:
        ms = "-" if r.ms_per_step is None else f"{r.ms_per_step:10.2f}"
        ratio = "-" if r.ratio is None else f"{r.ratio:8.2f}"
        lines.append(f"{r.variant:14} {ms:>10} {r.floor_ms:10.2f} {ratio:>8} {r.note}".rstrip())
    compiled = next((r for r in rows if r.variant == "compile" and r.ratio is not None), None)
    if compiled is not None:
        verdict = "meets" if compiled.ratio <= TARGET_RATIO else "misses"
        lines.append(f"compiled model {verdict} the target of {TARGET_RATIO}x the FLOP floor "
                     f"({compiled.ratio:.2f}x)")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> list[Row]:
    """Parse arguments, run, print the table; return the rows (for tests)."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    p.add_argument("--tiny", action="store_true", help="tiny config on the CPU (smoke test)")
    p.add_argument("--warmup", type=int, default=3, help="untimed calls (compilation happens here)")
    p.add_argument("--iters", type=int, default=10, help="timed calls (median reported)")
    p.add_argument("--compile-mode", default="max-autotune-no-cudagraphs",
                   help="torch.compile mode ('default' for torch's default)")
    args = p.parse_args(argv)
    from diffusers.utils import logging as diffusers_logging

    diffusers_logging.set_verbosity_error()
    rows = run(args.variants, args.tiny, args.warmup, args.iters, args.compile_mode)
    print(report(rows))
    return rows


if __name__ == "__main__":
    main()
