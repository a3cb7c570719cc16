"""The unit tests' FakeAri offers every operation of AriClient with the same parameters."""
from __future__ import annotations

import inspect

from ivr.ari.client import AriClient
from ivr.testing.fake_ari import FakeAri


def operations(cls: type) -> dict[str, inspect.Signature]:
    return {name: inspect.signature(fn) for name, fn in inspect.getmembers(cls, inspect.iscoroutinefunction)
            if not name.startswith("_") and name != "run_forever"}


def test_the_fake_has_every_operation_with_the_same_parameters() -> None:
    real, fake = operations(AriClient), operations(FakeAri)
    assert sorted(real) == sorted(fake)
    for name, signature in real.items():
        assert list(signature.parameters) == list(fake[name].parameters), name
