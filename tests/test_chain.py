"""The one chain framework discovery and credentials share: outcomes, records, stopping."""

from __future__ import annotations

from typing import Optional

from jupyter_lease.core.chain import Chain, Failed, Hit, Invalid, Link, NotSet, Outcome, Skipped

SK = "MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc"


def raising(exc: Exception):
    def fetch(ctx: object) -> Optional[Hit[str]]:
        raise exc

    return fetch


def test_every_outcome_is_recorded_and_the_first_hit_wins() -> None:
    chain = Chain(
        "thing",
        [
            Link("none", lambda ctx: None),
            Link("not set", raising(NotSet("not given"))),
            Link("skipped", raising(Skipped("not here"))),
            Link("failed", raising(Failed("down"))),
            Link("invalid", raising(Invalid("bad value", "invalid (as read)"))),
            Link("crash", raising(KeyError("oops"))),
            Link("found", lambda ctx: Hit(42, "forty-two"), unconfirmed="a guess"),
            Link("never tried", lambda ctx: Hit(0)),
        ],
    )
    result = chain.run(object())
    assert result.hit is not None and result.hit.value == 42
    assert [(r.source, r.outcome, r.detail) for r in result.records] == [
        ("none", "not set", ""),
        ("not set", "not set", "not given"),
        ("skipped", "skipped", "not here"),
        ("failed", "failed", "down"),
        ("invalid (as read)", "invalid", "bad value"),
        ("crash", "failed", "KeyError: 'oops'"),
        ("found", "found", "forty-two"),
    ]
    assert [r.status for r in result.records] == [
        "missing",
        "missing",
        "skipped",
        "failed",
        "failed",
        "failed",
        "unconfirmed",
    ]
    winner = result.winner
    assert winner is not None and winner.label == "found (unconfirmed)" and winner.value
    assert str(Outcome.NOT_SET) == "not set" and f"{Outcome.FOUND}" == "found"


def test_a_strict_invalid_link_stops_the_chain_only_when_asked() -> None:
    chain = Chain(
        "thing",
        [Link("typed", raising(Invalid("typo")), strict=True), Link("guess", lambda c: Hit(1))],
    )
    stopped = chain.run(None)
    assert stopped.hit is None and stopped.stopped is not None
    assert stopped.stopped.detail == "typo" and len(stopped.records) == 1
    assert chain.run(None, stop_on_invalid=False).hit == Hit(1)


def test_details_are_one_line_and_scrubbed_of_given_and_key_shaped_secrets() -> None:
    password = "hunter2-Very-Secret"
    chain = Chain("thing", [Link("a", raising(Failed(f"no\n  {password} or {SK}")))])
    (record,) = chain.run(None, secrets=(password,)).records
    assert record.detail == "no *** or ***"
    assert record.reason == record.detail and record.value == ""
