"""torchao quantization of the transformer's linear layers (and optionally the text encoders).

Schemes (torchao 0.18 config classes):

* ``float8dq-tensor`` / ``float8dq-row``: float8 dynamic activation + float8 weight, one
  scale per tensor or per row (the seeds' "FP8 DQ"). Needs CUDA compute capability >= 8.9
  (Ada, Hopper): torchao asserts on anything else, CPU included.
* ``float8wo``: float8 weight-only (dequantised to the activation dtype at matmul time).
* ``int8dq``: int8 dynamic activation + int8 weight.
* ``int8wo``: int8 weight-only.

A scheme that converts no layer is an error, not a silent no-op: the applied check counts
the linear layers whose weight became a torchao tensor.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from evalsuite.accelerators.base import (
    ORDER_QUANTIZE,
    Accelerator,
    Applied,
    Environment,
    Param,
    register,
    transformers_of,
)

SCHEMES = ("float8dq-tensor", "float8dq-row", "float8wo", "int8dq", "int8wo")
ENCODER_SCHEMES = ("none", "int8wo", "float8wo")
FP8_DYNAMIC_MIN_CAPABILITY = (8, 9)


def torchao_config(scheme: str) -> Any:
    """The torchao config object for ``scheme``."""
    import torchao.quantization as q

    if scheme == "float8dq-tensor":
        return q.Float8DynamicActivationFloat8WeightConfig(granularity=q.PerTensor())
    if scheme == "float8dq-row":
        return q.Float8DynamicActivationFloat8WeightConfig(granularity=q.PerRow())
    if scheme == "float8wo":
        return q.Float8WeightOnlyConfig()
    if scheme == "int8dq":
        return q.Int8DynamicActivationInt8WeightConfig()
    if scheme == "int8wo":
        return q.Int8WeightOnlyConfig()
    raise ValueError(f"unknown torchao scheme {scheme!r}")


def count_quantized(module: Any) -> tuple[int, int]:
    """(quantized linear layers, all linear layers) under ``module``."""
    import torch
    from torchao.utils import TorchAOBaseTensor

    linears = [m for m in module.modules() if isinstance(m, torch.nn.Linear)]
    return sum(isinstance(m.weight, TorchAOBaseTensor) for m in linears), len(linears)


def quantize(module: Any, scheme: str, what: str) -> dict[str, int]:
    """Quantize ``module`` in place; raise if no layer was converted."""
    from torchao.quantization import quantize_

    quantize_(module, torchao_config(scheme))
    done, total = count_quantized(module)
    if done == 0:
        raise RuntimeError(f"torchao {scheme} converted none of the {total} linear layers of {what}")
    return {f"{what}_quantized_linears": done, f"{what}_linears": total}


@register
class TorchAOQuantization(Accelerator):
    """torchao weight (and dynamic activation) quantization."""

    name = "torchao"
    family = "quantization"
    order = ORDER_QUANTIZE
    description = (
        "torchao quantization of the transformer's linear layers: float8 dynamic (per-tensor or "
        "per-row scales; CUDA >= 8.9), float8 weight-only, int8 dynamic, int8 weight-only"
    )
    params = {
        "scheme": Param(str, "int8wo", "quantization of the transformer", choices=SCHEMES),
        "text_encoders": Param(str, "none", "weight-only quantization of the text encoders",
                               choices=ENCODER_SCHEMES),
    }

    def check_environment(self, params: Mapping[str, Any], env: Environment) -> None:
        import importlib.util

        if importlib.util.find_spec("torchao") is None:
            raise ValueError("needs the torchao package (pip install torchao==0.18.0)")
        if params["scheme"].startswith("float8dq"):
            if not env.device.startswith("cuda"):
                raise ValueError(f"{params['scheme']} (float8 dynamic activation) needs a CUDA GPU with "
                                 "compute capability >= 8.9 (Ada/Hopper); this run is on the CPU")
            if env.cuda_capability is not None and env.cuda_capability < FP8_DYNAMIC_MIN_CAPABILITY:
                cap = ".".join(map(str, env.cuda_capability))
                raise ValueError(f"{params['scheme']} (float8 dynamic activation) needs compute capability "
                                 f">= 8.9 (Ada/Hopper); this GPU has {cap}")

    def apply(self, pipe: Any, params: Mapping[str, Any]) -> Applied:
        notes: dict[str, Any] = {"scheme": params["scheme"]}
        for name, transformer in transformers_of(self.model_family, pipe).items():  # Wan 2.2: both experts
            notes.update(quantize(transformer, params["scheme"], name))
        if params["text_encoders"] != "none":
            for attr in ("text_encoder", "text_encoder_2"):
                if getattr(pipe, attr, None) is not None:
                    notes.update(quantize(getattr(pipe, attr), params["text_encoders"], attr))
        return Applied(notes=notes)
