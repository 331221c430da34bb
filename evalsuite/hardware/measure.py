"""What a worker measures around its timed generations besides latency: energy and GPU state.

One ``VariantMeasure`` per worker: ``begin()`` before the first timed image (GPU state at
the start), ``image()`` around each timed generation (joules, or None when not measured),
``end()`` after the last (GPU state at the end). With context parallelism every member of
the group meters its own GPU and the group sums the joules, so an image made by K GPUs
costs what K GPUs drew. ``telemetry()`` is what the variant's telemetry file records.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator
from typing import Any

from evalsuite.hardware.energy import Meter, load_nvml, nvml_handle, open_meter
from evalsuite.hardware.gpu_state import gpu_state, read_state
from reports.jsonio import to_json
from reports.records import GpuSnapshot


class VariantMeasure:
    """Energy meter and GPU-state snapshots for one variant's worker."""

    def __init__(self, device: str, group_sum: Callable[[float | None], float | None] | None = None,
                 meter: Meter | None = None) -> None:
        self.device = device
        self.meter = meter if meter is not None else open_meter(device)
        self.group_sum = group_sum
        self.states: dict[str, GpuSnapshot | None] = {"start": None, "end": None}
        self.joules: float | None = None  # the last image's
        self._nvml: tuple[Any, Any] | None = None
        if device.startswith("cuda"):
            with contextlib.suppress(Exception):  # no NVML: no state, said in telemetry
                nvml = load_nvml()
                self._nvml = (nvml, nvml_handle(nvml, device))

    def _snapshot(self, when: str) -> None:
        if self._nvml is not None:
            self.states[when] = read_state(*self._nvml)

    def begin(self) -> None:
        """GPU state before the first timed image."""
        self._snapshot("start")

    @contextlib.contextmanager
    def image(self) -> Iterator[None]:
        """Meter one timed generation; the joules land in ``self.joules`` (None: not measured)."""
        self.meter.start()
        yield
        joules = self.meter.stop()
        self.joules = self.group_sum(joules) if self.group_sum is not None else joules

    def end(self) -> None:
        """GPU state after the last timed image."""
        self._snapshot("end")

    def telemetry(self) -> dict[str, Any]:
        """``energy`` and ``gpu_state`` entries of the variant's telemetry file."""
        return {"energy": {"source": self.meter.source, "reason": self.meter.reason},
                "gpu_state": to_json(gpu_state(self.states["start"], self.states["end"]))
                if self._nvml is not None else None}


def torch_group_sum(device: str) -> Callable[[float | None], float | None]:
    """Sum a value over the current (context-parallel) process group; None if any member's is."""
    import torch
    import torch.distributed as dist

    def total(value: float | None) -> float | None:
        t = torch.tensor([math.nan if value is None else value], dtype=torch.float64,
                         device=device if device.startswith("cuda") else "cpu")
        dist.all_reduce(t)  # NaN from any member propagates: the group's sum is not measured
        out = float(t.item())
        return None if math.isnan(out) else out

    return total
