"""Default prices per GPU-hour, used when a suite gives no ``hardware.price_per_hour``.

Each entry names its source and the date the price was read. Prices move: set
``price_per_hour`` in the suite for your own contract, which always wins over this table.
Modal's figures are its per-second list rates x 3600 as reported in public 2026 price
comparisons citing modal.com/pricing; RunPod's are the per-second "flex" rates of its
serverless price list (docs.runpod.io/serverless/pricing) x 3600, for the GPUs Modal does
not list. A GPU we found no public list price for is named in ``UNSOURCED`` with the
reason, rather than given an invented number.
The cost of an image is computed in one place, ``reports.records.cost_per_image``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Price:
    """One hourly price with its provenance."""

    usd_per_hour: float
    source: str
    date: str


PRICES: dict[str, Price] = {
    "H100": Price(3.9492, "Modal list price, H100 ($0.001097/s)", "2026-05"),
    "H200": Price(4.5396, "Modal list price, H200 ($0.001261/s)", "2026-05"),
    "B200": Price(8.64, "RunPod serverless flex price, B200 180 GB ($0.00240/s)", "2026-12"),
    "A100": Price(2.4984, "Modal list price, A100 80GB ($0.000694/s)", "2026-05"),
    "A100-80GB": Price(2.4984, "Modal list price, A100 80GB ($0.000694/s)", "2026-05"),
    "L40S": Price(1.9512, "Modal list price, L40S ($0.000542/s)", "2026-05"),
    "RTX 4090": Price(1.116, "RunPod serverless flex price, 4090 PRO ($0.00031/s)", "2026-12"),
    "L4": Price(0.7992, "Modal list price, L4 ($0.000222/s)", "2026-05"),
    "T4": Price(0.5904, "Modal list price, T4 ($0.000164/s)", "2026-05"),
    "cpu-2vcpu": Price(0.0893, "AWS EC2 on-demand c7i.large (2 vCPU), us-east-1", "2026-05"),
}

# GPUs a suite may name whose price we could not source; a run on one needs price_per_hour.
UNSOURCED: dict[str, str] = {
    "L20": "no public per-hour list price found (sold mainly in China through quoted "
           "contracts; 2026-12)",
}

# Substrings of torch.cuda.get_device_name() -> table key, most specific first.
_DEVICE_NAMES = (("H200", "H200"), ("H100", "H100"), ("B200", "B200"), ("A100", "A100"),
                 ("L40S", "L40S"), ("L20", "L20"), ("RTX 4090", "RTX 4090"), ("L4", "L4"),
                 ("T4", "T4"))


def gpu_key_for_device(device_name: str) -> str | None:
    """Map a device name such as 'NVIDIA H100 80GB HBM3' to a table key."""
    return next((key for part, key in _DEVICE_NAMES if part in device_name), None)


def price_rows() -> list[tuple[str, str, str, str]]:
    """(key, USD/hour, source, date read) for every known GPU, unsourced ones included."""
    rows = [(k, f"{p.usd_per_hour:g}", p.source, p.date) for k, p in PRICES.items()]
    rows += [(k, "-", f"not sourced: {why}; set hardware.price_per_hour", "-")
             for k, why in UNSOURCED.items()]
    return rows
