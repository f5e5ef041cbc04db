"""The root of hotline's own errors.

Every error a module of hotline raises on purpose derives from `HotlineError`, so a caller can
tell ours from a bug in a library (`except HotlineError`), and `retryable` says whether the same
request may succeed later (a busy service, a timeout) or never will as it is (bad input, a
missing model). Control-flow signals (a skipped partial, a preempted decode) are not errors and
stay plain exceptions.
"""

from __future__ import annotations


class HotlineError(Exception):
    retryable: bool = False
