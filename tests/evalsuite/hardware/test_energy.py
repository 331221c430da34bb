"""Energy meters: NVML fed a recorded counter sequence, RAPL on files shaped like powercap."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from evalsuite.hardware.energy import (
    RAPL_ROOT,
    CounterError,
    CounterMeter,
    load_nvml,
    nvml_counter,
    open_meter,
    rapl_counters,
)
from evalsuite.hardware.gpu_state import decode_reasons, gpu_state, read_state, state_flags
from reports.jsonio import from_json, to_json
from reports.records import GpuState


class RecordedNVML:
    """NVML's API surface as the meter uses it, replaying recorded counter values (mJ)."""

    NVML_CLOCK_SM = 1
    NVML_TEMPERATURE_GPU = 0

    class NVMLError_NotSupported(Exception):  # noqa: N801 - pynvml's own spelling
        pass

    def __init__(self, readings: list[int] | None, mask: int = 0) -> None:
        self.readings = list(readings) if readings is not None else None
        self.mask = mask

    def nvmlDeviceGetTotalEnergyConsumption(self, handle: object) -> int:  # noqa: N802
        if self.readings is None:
            raise self.NVMLError_NotSupported("Not Supported")
        return self.readings.pop(0) if len(self.readings) > 1 else self.readings[0]

    def nvmlDeviceGetClockInfo(self, handle: object, which: int) -> int:  # noqa: N802
        return 1980

    def nvmlDeviceGetTemperature(self, handle: object, which: int) -> int:  # noqa: N802
        return 61

    def nvmlDeviceGetPowerUsage(self, handle: object) -> int:  # noqa: N802
        raise self.NVMLError_NotSupported("Not Supported")

    def nvmlDeviceGetCurrentClocksEventReasons(self, handle: object) -> int:  # noqa: N802
        return self.mask


def test_nvml_recorded_sequence_gives_interval_joules() -> None:
    # The probe read in nvml_counter consumes the first value.
    nvml = RecordedNVML([0, 1_000_000, 1_250_500, 1_250_500, 1_900_000])
    meter = CounterMeter([nvml_counter(nvml, "gpu0")], "nvml")
    meter.start()
    assert meter.stop() == pytest.approx(250.5)  # 250 500 mJ
    meter.start()
    assert meter.stop() == pytest.approx(649.5)


def test_nvml_counter_wrap_and_reset() -> None:
    top = 2**64
    nvml = RecordedNVML([0, top - 2_000, 3_000])
    meter = CounterMeter([nvml_counter(nvml, "gpu0")], "nvml")
    meter.start()
    assert meter.stop() == pytest.approx(5.0)  # 2 000 mJ before the wrap + 3 000 after
    reset = RecordedNVML([0, 9_000_000, 1_000])  # driver reload: the counter starts over
    meter = CounterMeter([nvml_counter(reset, "gpu0")], "nvml")
    meter.start()
    assert meter.stop() is None  # not measured, never a made-up number


def test_device_without_counter_is_not_measured_never_zero() -> None:
    nvml = RecordedNVML(None)
    with pytest.raises(CounterError, match="not readable"):
        nvml_counter(nvml, "gpu0")
    meter = open_meter("cuda", nvml_loader=lambda: nvml, handle_for=lambda _n, _d: "gpu0")
    assert meter.source is None and "not readable" in (meter.reason or "")
    meter.start()
    assert meter.stop() is None


def test_context_parallel_group_sums_its_gpus() -> None:
    a = RecordedNVML([0, 100, 1_100])
    b = RecordedNVML([0, 500, 2_500])
    meter = CounterMeter([nvml_counter(a, 0), nvml_counter(b, 1)], "nvml")
    meter.start()
    assert meter.stop() == pytest.approx(3.0)


def test_missing_nvml_library_is_a_reason() -> None:
    try:
        import pynvml  # noqa: F401
    except ImportError:
        pytest.skip("nvidia-ml-py not installed")
    try:
        load_nvml()
    except CounterError as exc:  # no driver on this machine: the expected, one-line reason
        assert "NVML unavailable" in str(exc) and "\n" not in str(exc)


def test_gpu_state_reasons_and_flags() -> None:
    assert decode_reasons(0x1 | 0x4 | 0x20000) == ("gpu_idle", "sw_power_cap", "0x20000")
    calm = read_state(RecordedNVML([0]), "gpu0")
    assert calm.sm_clock_mhz == 1980 and calm.temperature_c == 61 and calm.power_w is None
    assert not calm.throttled and state_flags(calm, calm) == []
    hot = replace(read_state(RecordedNVML([0], mask=0x40), "gpu0"), sm_clock_mhz=1400)
    assert hot.throttled and hot.throttle_reasons == ("hw_thermal_slowdown",)
    flags = state_flags(calm, hot)
    assert any("throttled at the end" in f and "hw_thermal_slowdown" in f for f in flags)
    assert any("1980 to 1400" in f for f in flags)
    # The telemetry file holds the report's own record, read back as it was written.
    state = to_json(gpu_state(calm, hot))
    assert list(state) == ["start", "end", "flags"] and state["end"]["throttled"] is True
    assert state["start"] == {"sm_clock_mhz": 1980, "temperature_c": 61, "power_w": None,
                              "throttle_reasons": [], "throttled": False}
    assert from_json(GpuState, state) == gpu_state(calm, hot)


def _fake_powercap(root: Path, packages: dict[str, tuple[int, int]]) -> None:
    for name, (energy, top) in packages.items():
        d = root / name
        d.mkdir(parents=True)
        (d / "energy_uj").write_text(f"{energy}\n")
        (d / "max_energy_range_uj").write_text(f"{top}\n")


def test_rapl_sums_packages_skips_subdomains_and_unwraps(tmp_path: Path) -> None:
    _fake_powercap(tmp_path, {"intel-rapl:0": (999_000, 999_999), "intel-rapl:1": (10, 999_999),
                              "intel-rapl:0:0": (5, 999_999)})
    counters = rapl_counters(str(tmp_path))
    assert len(counters) == 2
    meter = CounterMeter(counters, "rapl")
    meter.start()
    (tmp_path / "intel-rapl:0" / "energy_uj").write_text("4000\n")  # wrapped: 1 000 + 4 000 uJ
    (tmp_path / "intel-rapl:1" / "energy_uj").write_text("2010\n")
    assert meter.stop() == pytest.approx(0.007)


def test_rapl_unreadable_or_absent_is_a_reason(tmp_path: Path) -> None:
    with pytest.raises(CounterError, match="no RAPL domain"):
        rapl_counters(str(tmp_path))
    meter = open_meter("cpu", rapl_root=str(tmp_path))
    assert meter.source is None and meter.stop() is None
    assert open_meter("mps").source is None


@pytest.mark.skipif(not os.path.isdir(RAPL_ROOT), reason=f"{RAPL_ROOT} does not exist on this machine")
def test_rapl_on_this_machine() -> None:
    meter = open_meter("cpu")
    if meter.source is None:
        pytest.skip(f"RAPL not readable here: {meter.reason}")
    meter.start()
    sum(i * i for i in range(200_000))
    joules = meter.stop()
    assert joules is None or joules >= 0.0


def test_variant_measure_records_joules_per_image_and_sums_a_group() -> None:
    from evalsuite.hardware.measure import VariantMeasure

    nvml = RecordedNVML([0, 1_000, 4_000])
    meter = CounterMeter([nvml_counter(nvml, "gpu0")], "nvml")
    measure = VariantMeasure("cpu", group_sum=lambda j: None if j is None else 2 * j, meter=meter)
    measure.begin()
    with measure.image():
        pass
    measure.end()
    assert measure.joules == pytest.approx(6.0)  # 3 J here, the same on the group's other GPU
    assert measure.telemetry() == {"energy": {"source": "nvml", "reason": None}, "gpu_state": None}
    unmeasured = VariantMeasure("cpu", meter=open_meter("cpu", rapl_root="/nonexistent"))
    with unmeasured.image():
        pass
    assert unmeasured.joules is None
    assert "no RAPL domain" in unmeasured.telemetry()["energy"]["reason"]


def test_an_older_store_gains_the_energy_column(tmp_path: Path) -> None:
    import sqlite3

    from evalsuite.store.db import SampleRow, Store
    from evalsuite.store.schema import SAMPLES, SCRIPT

    path = tmp_path / "results.sqlite"
    old = SCRIPT.replace(", energy_j REAL", "")
    assert "energy_j" not in old and "energy_j" in SAMPLES.create()
    con = sqlite3.connect(path)
    con.executescript(old)
    con.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    con.execute("INSERT INTO prompts VALUES ('p', 'a cat', 's', 0, 'c', '{}')")
    con.execute("INSERT INTO samples (variant_id, prompt_id, seed, status, latency_s) "
                "VALUES ('v', 'p', 0, 'ok', 1.0)")
    con.commit()
    con.close()
    with Store(path) as store:
        store.put_sample(SampleRow("v", "p", 1, "ok", 2.0, energy_j=12.5))
        rows = {r.seed: r for r in store.samples()}
    assert rows[0].energy_j is None and rows[1].energy_j == 12.5
