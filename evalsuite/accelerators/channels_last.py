"""channels-last memory format (one of Modal's "standard optimizations").

NHWC layout lets cuDNN pick faster convolution kernels. In FLUX only the VAE has
convolutions (the transformer is linear layers on token sequences, where the format does
not apply), so this mostly speeds up decoding. A model with no 4-D weight is an error, since
the technique would silently do nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from evalsuite.accelerators.base import ORDER_PIPELINE, Accelerator, Applied, register


def channels_last_weights(module: Any) -> int:
    """Number of 4-D parameters stored channels-last."""
    import torch

    return sum(p.dim() == 4 and p.is_contiguous(memory_format=torch.channels_last)
               and not p.is_contiguous() for p in module.parameters())


@register
class ChannelsLast(Accelerator):
    """torch.channels_last on every pipeline component with 4-D weights."""

    name = "channels_last"
    deprecated_names = ("channels-last",)
    family = "pipeline"
    order = ORDER_PIPELINE
    description = "channels-last (NHWC) memory format for the convolutional components (FLUX: the VAE)"
    params = {}

    def apply(self, pipe: Any, params: Mapping[str, Any]) -> Applied:
        import torch

        notes: dict[str, Any] = {}
        for name, component in pipe.components.items():
            if isinstance(component, torch.nn.Module) and any(p.dim() == 4 for p in component.parameters()):
                # Tensor by tensor: Module.to(memory_format=...) raises on the 5-D weights of a
                # 3-D VAE's Conv3d layers (Qwen-Image, Wan), which have no 2-D channels-last.
                for p in component.parameters():
                    if p.dim() == 4:
                        p.data = p.data.contiguous(memory_format=torch.channels_last)
                notes[f"{name}_channels_last_weights"] = channels_last_weights(component)
        if not any(notes.values()):
            raise RuntimeError("no pipeline component has convolution weights to convert to channels-last")
        return Applied(notes=notes)
