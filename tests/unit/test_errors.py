"""hotline's own errors: one root, and whether to retry."""

from __future__ import annotations


def test_hotline_s_errors_share_one_root_that_says_whether_to_retry() -> None:
    from hotline.asr.recognizer import AsrOverloaded, ModelNotFound
    from hotline.center.settings import SettingsError
    from hotline.ivr.expr import ExprError
    from hotline.ivr.lookups import LookupFailed
    from hotline.system.errors import HotlineError

    assert issubclass(SettingsError, HotlineError) and issubclass(ExprError, ValueError)  # old catches still work
    assert AsrOverloaded("busy").retryable and not ModelNotFound("none").retryable
    failed = LookupFailed("timeout", reason="timeout", retryable=True)
    assert isinstance(failed, HotlineError) and failed.retryable
