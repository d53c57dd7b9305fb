"""The simulated agents' dispositions always pass the ACD's validation, and use the whole mixture."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from recobro.domain.dispositions import DispositionCode, validate_disposition
from recobro.runtime.sim_agents import MIXTURE, draw_disposition

NOW = datetime(2026, 3, 4, 18, 0, tzinfo=UTC)


@settings(max_examples=300, deadline=None)
@given(
    seed=st.integers(0, 10**6),
    balance=st.decimals(min_value=Decimal("0.00"), max_value=Decimal("999999.99"), places=2),
    horizon=st.integers(1, 60),
)
def test_every_draw_is_a_valid_disposition(seed: int, balance: Decimal, horizon: int) -> None:
    d = draw_disposition(random.Random(seed), balance=balance, now=NOW, today=NOW.date(), horizon_days=horizon)
    validate_disposition(d, balance=balance, today=NOW.date(), horizon_days=horizon, now=NOW)
    if d.code == DispositionCode.PROMISE_TO_PAY:
        assert d.promise_amount is not None and Decimal("0.01") <= d.promise_amount <= balance
        assert d.promise_date is not None and NOW.date() < d.promise_date <= NOW.date() + timedelta(days=30)


def test_the_mixture_is_used_in_its_proportions() -> None:
    rng = random.Random(1)
    got = Counter(
        draw_disposition(rng, balance=Decimal("5000"), now=NOW, today=NOW.date(), horizon_days=30).code
        for _ in range(5000)
    )
    for code, weight in MIXTURE:
        assert abs(got[code] / 5000 - weight) < 0.03, code
