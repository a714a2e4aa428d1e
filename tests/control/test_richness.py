import pytest
from hypothesis import given
from hypothesis import strategies as st

from rescap.control.richness import ContentMix, RichnessPolicy, parse_richness

shares = st.floats(0, 1).flatmap(lambda b: st.tuples(st.just(b), st.floats(0, 1 - b)))
modes = st.one_of(st.sampled_from(["auto", "short", "medium", "long"]), st.integers(1, 200))


@given(shares, st.floats(0, 1), st.floats(0, 1), st.integers(0, 200))
def test_monotonic_in_severity(mix, s1, s2, budget):
    policy = RichnessPolicy()
    content = ContentMix(benefits=mix[0], harmed=mix[1])
    lo, hi = sorted((s1, s2))
    assert policy.target_tokens(lo, content, budget) <= policy.target_tokens(hi, content, budget)


@given(shares, st.floats(-1, 2), st.integers(0, 200), modes)
def test_never_over_budget(mix, severity, budget, mode):
    policy = RichnessPolicy(mode=mode)
    assert 0 <= policy.target_tokens(severity, ContentMix(benefits=mix[0], harmed=mix[1]), budget) <= budget


@given(st.floats(0, 1), st.floats(0, 0.5))
def test_detail_loving_content_gets_more_and_harmed_content_less(severity, share):
    policy = RichnessPolicy(min_tokens=0)
    neutral = policy.target_tokens(severity, ContentMix(), 1000)
    assert policy.target_tokens(severity, ContentMix(benefits=share), 1000) >= neutral
    assert policy.target_tokens(severity, ContentMix(harmed=share), 1000) <= neutral


def test_named_modes_are_ordered_and_numbers_are_honoured():
    mix = ContentMix()
    short, medium, long = (RichnessPolicy(mode=m).target_tokens(0.5, mix, 75) for m in ("short", "medium", "long"))
    assert short < medium < long <= 75
    assert RichnessPolicy(mode=42).target_tokens(0.0, mix, 75) == 42
    assert RichnessPolicy(mode=42).target_tokens(0.0, mix, 20) == 20


@pytest.mark.parametrize("text, expected", [("auto", "auto"), ("LONG", "long"), ("30", 30), (12, 12)])
def test_parse_richness(text, expected):
    assert parse_richness(text) == expected


@pytest.mark.parametrize("bad", ["huge", "0", -3, "1.5"])
def test_parse_richness_rejects(bad):
    with pytest.raises(ValueError):
        parse_richness(bad)


def test_a_policy_that_could_fall_with_severity_is_refused():
    with pytest.raises(ValueError, match="severity"):
        RichnessPolicy(severity_gain=5, harm_penalty=20)


def test_shares_must_fit():
    with pytest.raises(ValueError):
        ContentMix(benefits=0.7, harmed=0.5)
