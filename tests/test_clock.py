import pytest

from jupyter_lease.core.clock import OffsetEstimate, observe


def test_one_observation_brackets_the_truth():
    # server clock = local + 100.3; Date truncates to whole seconds
    sent, received = 1000.0, 1000.2
    server_date = float(int(1000.1 + 100.3))
    est = observe(None, server_date, sent, received)
    assert est.low <= 100.3 <= est.high
    assert est.uncertainty == pytest.approx(0.6)  # (1 s resolution + 0.2 s round trip) / 2


def test_observations_narrow_the_interval_and_keep_the_truth():
    truth, est = 100.3, None
    for i in range(40):
        sent = 1000.0 + i * 7.37  # polls land at varied fractions of a second
        received = sent + 0.05
        server_date = float(int(sent + 0.02 + truth))
        est = observe(est, server_date, sent, received)
        assert est.low <= truth <= est.high
    assert est.uncertainty < 0.06
    assert est.offset == pytest.approx(truth, abs=0.06)


def test_a_clock_jump_starts_afresh():
    est = observe(None, 1100.0, 1000.0, 1000.1)
    jumped = est.refine(2100.0, 1001.0, 1001.1)  # the local clock went back 16 minutes
    assert jumped.low <= 1099 <= jumped.high
    assert isinstance(jumped, OffsetEstimate)
