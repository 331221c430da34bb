"""Energy per generation: NVML's GPU energy counter, Linux RAPL on the CPU, else "not measured".

Both sources are cumulative hardware counters read before and after each timed call; the
difference is the energy of that interval. A counter that wraps (RAPL wraps at
``max_energy_range_uj``; NVML's is 64-bit) is unwrapped once per interval; a counter that
went backwards by more than a wrap explains (a driver reload) gives None for that interval,
never a made-up value. Where no counter can be read (an HTTP endpoint, no permission, a GPU
older than Volta) every reading is None: "not measured" is never written as 0.

RAPL counts the whole CPU package, other processes included: on a shared machine it is an
upper bound of the generation's own energy. NVML counts the whole GPU, which a worker has to
itself. The NVML library is imported lazily, so this module loads on machines without it.
"""

from __future__ import annotations

import glob
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

RAPL_ROOT = "/sys/class/powercap"


class CounterError(RuntimeError):
    """A counter cannot be read here (one-line reason)."""


@dataclass
class Counter:
    """One cumulative energy counter: ``read()`` returns raw units, ``unit_j`` converts them.

    Attributes:
        read: returns the counter's current raw value (an int).
        unit_j: joules per raw unit (1e-3 for NVML's millijoules, 1e-6 for RAPL's microjoules).
        wrap: the value at which the counter wraps to 0, or None if it never wraps.
    """

    read: Callable[[], int]
    unit_j: float
    wrap: int | None = None

    def delta_j(self, before: int, after: int) -> float | None:
        """Joules between two raw readings; None when the counter was reset in between."""
        diff = after - before
        if diff < 0:
            if self.wrap is None:
                return None
            diff += self.wrap
            # A wrap adds at most one range; past half of it the counter was reset instead
            # (a driver reload), and any number we returned would be invented.
            if diff > self.wrap // 2:
                return None
        return diff * self.unit_j


class Meter(Protocol):
    """Measures the energy of intervals: ``start()``, run the work, ``stop()``."""

    source: str | None  # "nvml", "rapl" or None (not measured)
    reason: str | None  # why nothing is measured, when source is None

    def start(self) -> None: ...

    def stop(self) -> float | None: ...


@dataclass
class CounterMeter:
    """Sums the interval energy of one or more counters (e.g. a context-parallel group's GPUs)."""

    counters: Sequence[Counter]
    source: str
    reason: str | None = None
    _before: list[int] = field(default_factory=list)

    def start(self) -> None:
        """Read every counter."""
        self._before = [c.read() for c in self.counters]

    def stop(self) -> float | None:
        """Joules since :meth:`start`, summed over the counters; None if any was reset."""
        if len(self._before) != len(self.counters):
            raise RuntimeError("stop() without start()")
        deltas = [c.delta_j(b, c.read()) for c, b in zip(self.counters, self._before, strict=True)]
        self._before = []
        return None if any(d is None for d in deltas) else float(sum(deltas))  # type: ignore[arg-type]


@dataclass
class NullMeter:
    """Measures nothing, and says why."""

    reason: str
    source: None = None

    def start(self) -> None:
        """Nothing to read."""

    def stop(self) -> None:
        """Always "not measured"."""
        return None


# --- NVML -------------------------------------------------------------------------------
def load_nvml() -> Any:
    """The ``pynvml`` module (package nvidia-ml-py), initialised; CounterError if unusable."""
    try:
        import pynvml
    except ImportError as exc:
        raise CounterError(f"nvidia-ml-py is not installed ({exc})") from None
    try:
        pynvml.nvmlInit()
    except Exception as exc:  # noqa: BLE001 - NVMLError_LibraryNotFound, DriverNotLoaded, ...
        raise CounterError(f"NVML unavailable: {exc}") from None
    return pynvml


def nvml_counter(nvml: Any, handle: Any) -> Counter:
    """NVML's total-energy counter of one GPU (millijoules since the driver loaded).

    Raises:
        CounterError: the device does not support the counter (pre-Volta, some vGPUs).
    """
    try:
        nvml.nvmlDeviceGetTotalEnergyConsumption(handle)
    except Exception as exc:  # noqa: BLE001 - NVMLError_NotSupported and friends
        raise CounterError(f"the GPU's energy counter is not readable: {exc}") from None
    return Counter(lambda: int(nvml.nvmlDeviceGetTotalEnergyConsumption(handle)), 1e-3, 2**64)


def nvml_handle(nvml: Any, device: str) -> Any:
    """NVML handle of a torch CUDA device ("cuda", "cuda:N").

    Matched by the device's UUID, because CUDA_VISIBLE_DEVICES renumbers CUDA devices but
    not NVML's; falls back to the index when torch exposes no UUID.
    """
    import torch

    index = torch.device(device).index
    index = torch.cuda.current_device() if index is None else index
    uuid = getattr(torch.cuda.get_device_properties(index), "uuid", None)
    if uuid is not None:
        text = str(uuid)
        try:
            return nvml.nvmlDeviceGetHandleByUUID(text if text.startswith("GPU-") else f"GPU-{text}")
        except Exception:  # noqa: BLE001,S110 - an unexpected UUID format: use the index
            pass
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible:
        index = int(visible.split(",")[index])
    return nvml.nvmlDeviceGetHandleByIndex(index)


# --- RAPL -------------------------------------------------------------------------------
def rapl_counters(root: str = RAPL_ROOT) -> list[Counter]:
    """One counter per CPU package domain (``intel-rapl:N``; AMD exposes the same names).

    Sub-domains (``intel-rapl:N:M``: cores, uncore, DRAM) are parts of their package and
    are left out so nothing is counted twice.

    Raises:
        CounterError: no RAPL domain exists, or its counter is not readable (since 2020 the
            kernel allows only root to read ``energy_uj``).
    """
    domains = sorted(p for p in glob.glob(os.path.join(root, "*rapl:*"))
                     if os.path.basename(p).count(":") == 1)
    if not domains:
        raise CounterError(f"no RAPL domain under {root}")
    counters = []
    for d in domains:
        energy, limit = Path(d, "energy_uj"), Path(d, "max_energy_range_uj")
        try:
            int(energy.read_text())
            wrap = int(limit.read_text()) + 1
        except (OSError, ValueError) as exc:
            raise CounterError(f"RAPL counter not readable: {exc}") from None
        counters.append(Counter(lambda e=energy: int(e.read_text()), 1e-6, wrap))
    return counters


# --- choosing a meter ---------------------------------------------------------------------
def open_meter(device: str, *, nvml_loader: Callable[[], Any] = load_nvml,
               handle_for: Callable[[Any, str], Any] = nvml_handle,
               rapl_root: str = RAPL_ROOT) -> Meter:
    """The meter for a torch device: NVML on CUDA, RAPL on the CPU, else a NullMeter.

    ``nvml_loader`` and ``handle_for`` are injectable so the NVML path runs in tests
    without a GPU.
    """
    try:
        if device.startswith("cuda"):
            nvml = nvml_loader()
            try:
                handle = handle_for(nvml, device)
            except Exception as exc:  # noqa: BLE001 - NVMLError_NotFound, no CUDA driver
                raise CounterError(f"no NVML handle for {device}: {exc}") from None
            return CounterMeter([nvml_counter(nvml, handle)], "nvml")
        if device == "cpu":
            return CounterMeter(rapl_counters(rapl_root), "rapl")
    except CounterError as exc:
        return NullMeter(str(exc))
    return NullMeter(f"no energy counter for device {device!r}")


def probe(device: str = "cpu") -> str:
    """One line saying whether energy can be measured here, e.g. for ``bench/`` scripts."""
    meter = open_meter(device)
    if meter.source is None:
        return f"energy not measured on {device}: {meter.reason}"
    meter.start()
    time.sleep(0.2)
    joules = meter.stop()
    return f"energy measured on {device} through {meter.source}: {joules} J over 0.2 s idle"
