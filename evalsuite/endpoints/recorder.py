"""Where an endpoint variant's outcomes are written: samples, request and attempt rows, status.

Every text a server can influence (a request's reason, an attempt's detail, the variant's
error) passes through the variant's :class:`~evalsuite.endpoints.redact.Redactor` here and
nowhere else, before it is stored, and what is printed or returned is read back from what
this wrote. Whatever raised a failure, its reason is redacted on the way to disk.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from evalsuite.endpoints.errors import TIMEOUT
from evalsuite.endpoints.http import Attempt
from evalsuite.endpoints.records import EndpointLog, RequestRow
from evalsuite.endpoints.redact import Redactor
from evalsuite.endpoints.request import Delivery
from evalsuite.store.db import SampleRow, Store
from evalsuite.store.schema import SampleStatus, VariantStatus


class Recorder:
    """Writes one variant's endpoint outcomes, each reason redacted first."""

    def __init__(self, store: Store, log: EndpointLog, redact: Redactor) -> None:
        self.store = store
        self.log = log
        self.redact = redact
        self.stop_reason: str | None = None  # why requests in flight are being stopped, once they are
        self.stopped = 0  # requests recorded as stopped in flight

    def stop(self, got: Delivery, untimed: str | None = None) -> None:
        """Record a request stopped in flight (by the run limit) as a ``timeout`` failure."""
        reason = self.stop_reason or "stopped in flight (the run was interrupted)"
        self.request(replace(got.row, outcome=TIMEOUT, latency_s=None, sha256=None, width=None, height=None,
                             reason=reason), got.attempts, untimed=untimed)
        self.stopped += 1

    def request(self, row: RequestRow, attempts: Sequence[Attempt], *, image: str | None = None,
                clip: str | None = None, untimed: str | None = None,
                steps: tuple[int, int] | None = None,
                expert_steps: dict[str, tuple[int, int]] | None = None) -> RequestRow:
        """Record a finished request; return the row as stored.

        Args:
            row: How the request ended (its reason not yet redacted).
            attempts: Its HTTP attempts.
            image: The stored PNG (relative to the run folder) when one was delivered.
            clip: A delivered clip's lossless copy (``image`` is then its poster).
            untimed: A prefix ("warmup:", "probe:") for requests outside the statistics; they
                write no sample.
            steps: (computed, skipped) denoiser calls, when the server reported them.
            expert_steps: the same per transformer (Wan 2.2's experts), when reported.
        """
        row = replace(row, reason=self.redact.optional(row.reason))
        attempts = [replace(a, detail=self.redact.optional(a.detail)) for a in attempts]
        if untimed:
            row = replace(row, outcome=untimed + row.outcome)
            attempts = [replace(a, call=untimed + a.call) for a in attempts]
        elif image is not None:
            status = SampleStatus(row.outcome)  # ok or flagged
            computed, skipped = steps if steps is not None else (None, None)
            self.store.put_sample(SampleRow(row.variant_id, row.prompt_id, row.seed, status, row.latency_s,
                                            None, computed, skipped, image, row.reason, clip=clip,
                                            expert_steps=expert_steps))
        else:
            self.store.put_sample(SampleRow(row.variant_id, row.prompt_id, row.seed, SampleStatus.FAILED,
                                            reason=f"{row.outcome}: {row.reason}"))
        self.log.put(row, attempts)
        return row

    def variant(self, variant_id: str, status: VariantStatus, reason: str | None) -> str | None:
        """Set the variant's status; return the reason as stored (redacted)."""
        reason = self.redact.optional(reason)
        self.store.set_variant_status(variant_id, status, reason)
        return reason
