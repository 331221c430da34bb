"""GPU state around a variant's timing: SM clock, temperature, power and throttle reasons (NVML).

Variants run one after another, so a GPU that heats up and lowers its clocks makes a later
variant look slower for reasons that are not the variant's. The worker records this state
at the start and at the end of each variant's timed images; a throttle reason that slows
the clocks (power cap, thermal, power brake) is flagged in the report. The records are the
report's own (``reports.records.GpuSnapshot``: one moment; ``GpuState``: a variant's start,
end and flags), written into the telemetry file as they are read back.
"""

from __future__ import annotations

from typing import Any

from reports.records import GpuSnapshot, GpuState

# NVML's clocks-event (throttle) reason bits; the API constants, stable across drivers.
REASONS = {
    0x1: "gpu_idle", 0x2: "applications_clocks_setting", 0x4: "sw_power_cap",
    0x8: "hw_slowdown", 0x10: "sync_boost", 0x20: "sw_thermal_slowdown",
    0x40: "hw_thermal_slowdown", 0x80: "hw_power_brake_slowdown", 0x100: "display_clock_setting",
}
# Reasons that mean the clocks were held below what the workload asked for.
SLOWING = frozenset({"sw_power_cap", "hw_slowdown", "sw_thermal_slowdown", "hw_thermal_slowdown",
                     "hw_power_brake_slowdown"})


def decode_reasons(mask: int) -> tuple[str, ...]:
    """Names of the bits set in an NVML clocks-event reason mask (unknown bits as hex)."""
    names = [name for bit, name in REASONS.items() if mask & bit]
    unknown = mask & ~sum(REASONS)
    return tuple(names + ([hex(unknown)] if unknown else []))


def _try(fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except Exception:  # noqa: BLE001 - NVMLError_NotSupported on some boards/vGPUs
        return None


def read_state(nvml: Any, handle: Any) -> GpuSnapshot:
    """Snapshot one GPU through an initialised ``pynvml`` module (or a stand-in with its API);
    None where the device does not report a field."""
    reasons_fn = (getattr(nvml, "nvmlDeviceGetCurrentClocksEventReasons", None)
                  or nvml.nvmlDeviceGetCurrentClocksThrottleReasons)  # the pre-12.2 name
    mask = _try(reasons_fn, handle)
    power_mw = _try(nvml.nvmlDeviceGetPowerUsage, handle)
    reasons = decode_reasons(int(mask)) if mask is not None else ()
    return GpuSnapshot(
        sm_clock_mhz=_try(nvml.nvmlDeviceGetClockInfo, handle, nvml.NVML_CLOCK_SM),
        temperature_c=_try(nvml.nvmlDeviceGetTemperature, handle, nvml.NVML_TEMPERATURE_GPU),
        power_w=None if power_mw is None else power_mw / 1000.0,
        throttle_reasons=reasons,
        throttled=bool(SLOWING.intersection(reasons)),  # a reason that lowers the clocks was active
    )


def state_flags(start: GpuSnapshot | None, end: GpuSnapshot | None) -> list[str]:
    """Report lines for a variant's start/end snapshots: throttling, clock drop."""
    flags = []
    for when, s in (("start", start), ("end", end)):
        if s and s.throttled:
            slowing = [r for r in s.throttle_reasons if r in SLOWING]
            flags.append(f"GPU throttled at the {when} of timing ({', '.join(slowing)})")
    a, b = start and start.sm_clock_mhz, end and end.sm_clock_mhz
    if a and b and b < 0.95 * a:
        flags.append(f"SM clock fell from {a} to {b} MHz during timing")
    return flags


def gpu_state(start: GpuSnapshot | None, end: GpuSnapshot | None) -> GpuState:
    """A variant's GPU state: its snapshots around the timed images and what to flag."""
    return GpuState(start, end, tuple(state_flags(start, end)))
