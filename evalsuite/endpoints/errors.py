"""The failure kinds of endpoint calls, and the one exception that carries them.

A leaf of the endpoints package: the HTTP layer raises these and the protocols raise and
inspect them, so both import this module and neither needs the other for it.
"""

from __future__ import annotations

# Failure kinds, as recorded per attempt and counted in the summary.
TIMEOUT = "timeout"
RATE_LIMITED = "429"
SERVER_ERROR = "5xx"
CLIENT_ERROR = "4xx"
NOT_AN_IMAGE = "not_an_image"
NOT_A_VIDEO = "not_a_video"  # a clip's bytes that do not decode to video frames
OVERSIZE = "oversize"
TRUNCATED = "truncated"
WRONG_CONTENT_TYPE = "wrong_content_type"
CONNECTION = "connection"
BAD_RESPONSE = "bad_response"  # JSON without the documented fields
PROVIDER_FAILED = "provider_failed"  # a queue API reported the job as failed
REDIRECT = "redirect"  # too many redirects, or one to a refused URL

# Worth another attempt: the same request may well succeed a moment later.
RETRYABLE = frozenset({TIMEOUT, RATE_LIMITED, SERVER_ERROR, TRUNCATED, CONNECTION})


class EndpointError(Exception):
    """One failed HTTP call or response, with its kind; the message never holds the key."""

    def __init__(self, kind: str, message: str, status: int | None = None,
                 retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.status = status
        self.retry_after_s = retry_after_s
