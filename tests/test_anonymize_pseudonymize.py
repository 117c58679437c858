"""Pseudonymization strategies: defining properties."""

from __future__ import annotations

import pandas as pd
import pytest

from reidcheck.anonymize import pseudonymize
from reidcheck.attacks.inputs import PseudonymInput
from reidcheck.attacks.pseudonyms import HashReversal, linkability
from reidcheck.errors import UsageError
from reidcheck.secrets import ReleaseKey


@pytest.fixture(scope="module")
def cdr_300(small_population):
    """Subscribers with a +92300 number, whose serials span a window the tests can enumerate."""
    subs = small_population.subscribers
    own = subs[subs["msisdn"].str.startswith("+92300")].assign(serial=lambda d: d["msisdn"].str[6:].astype(int))
    own = own.sort_values("serial").reset_index(drop=True)
    span = own["serial"].shift(-3) - own["serial"]          # the 4 closest consecutive serials
    start = int(span.idxmin())
    pick = own.iloc[start:start + 4]
    cdr = small_population.cdr[small_population.cdr["subscriber_id"].isin(pick["subscriber_id"])]
    return cdr, subs, (int(pick["serial"].min()), int(pick["serial"].max()) + 1)


def test_unsalted_hash_is_reversed_and_hmac_is_not(cdr_300):
    cdr, subs, (lo, hi) = cdr_300
    attack = HashReversal(prefixes=(300,), serial_lo=lo, serial_hi=hi)
    hashed = pseudonymize(cdr, subs, method="hash", seed=1)
    res = attack.run(None, PseudonymInput.of(hashed.release["pid"].unique()))
    assert res.n_unique == res.n_targets == cdr["subscriber_id"].nunique()
    keyed = pseudonymize(cdr, subs, method="hmac", seed=1)
    assert attack.run(None, PseudonymInput.of(keyed.release["pid"].unique())).n_unique == 0


def test_release_carries_no_direct_identifier_and_truth_maps_back(small_population):
    rel = pseudonymize(small_population.cdr, method="token", seed=3)
    assert not {"subscriber_id", "counterpart_msisdn", "msisdn", "name", "cnic"} & set(rel.release.columns)
    back = rel.release["pid"].map(rel.truth.set_index("pid")["subscriber_id"])
    assert (back.to_numpy() == small_population.cdr["subscriber_id"].to_numpy()).all()
    assert rel.truth["pid"].is_unique


def test_rotated_tokens_are_not_linkable_across_periods(small_population):
    rel = pseudonymize(small_population.cdr, method="rotate", period="day", seed=4)
    day = small_population.cdr["timestamp"] // 86_400
    first, second = sorted(day.unique())[:2]
    link = linkability(rel.release.loc[day == first, "pid"], rel.release.loc[day == second, "pid"])
    assert link["common"] == 0 and not link["stable"]
    stable = pseudonymize(small_population.cdr, method="token", seed=4)
    link = linkability(stable.release.loc[day == first, "pid"], stable.release.loc[day == second, "pid"])
    assert link["stable"]


def test_same_key_and_seed_same_release(small_population):
    key, other = ReleaseKey(bytes(range(32))), ReleaseKey(bytes(range(1, 33)))
    for method in ("token", "rotate", "hmac"):
        def run(k, seed):
            return pseudonymize(small_population.cdr, small_population.subscribers, method=method, key=k, seed=seed)

        a, b, c, d = run(key, 9), run(key, 9), run(key, 10), run(other, 9)
        pd.testing.assert_frame_equal(a.release, b.release)
        assert not set(a.release["pid"]) & set(d.release["pid"])          # another key: nothing in common
        if method == "hmac":   # a stable pseudonym: the seed plays no part, the key does
            assert a.release["pid"].equals(c.release["pid"])
        else:
            assert not set(a.release["pid"]) & set(c.release["pid"])


@pytest.mark.parametrize("kwargs, needle", [({"method": "salt"}, "`method`"), ({"method": "hash"}, "subscribers"),
                                            ({"method": "rotate", "period": "year"}, "`period`")])
def test_bad_parameters(small_population, kwargs, needle):
    with pytest.raises(UsageError, match=needle):
        pseudonymize(small_population.cdr, **kwargs)


# -- counterparts ------------------------------------------------------------------------------------
def _published(pop, spec, seed=5):
    from reidcheck.anonymize.release import Release
    from reidcheck.anonymize.strategies import apply_strategies
    from reidcheck.secrets import key_from_seed

    return apply_strategies(Release.from_population(pop), [spec], seed=seed, key=key_from_seed(seed)).publish()


@pytest.mark.parametrize("method", ["hash", "token", "rotate:period=day"])
def test_counterparts_get_their_subscribers_own_pseudonym_and_no_number_is_released(small_population, method):
    name, _, rest = method.partition(":")
    spec = f"{name}:{rest + ',' if rest else ''}counterparts=pseudonymize"
    pub = _published(small_population, spec)
    cdr = pub.tables["cdr"]
    orig = small_population.cdr
    assert len(cdr) == len(orig) and "counterpart_msisdn" not in cdr.columns
    # no released value is a phone number, in any table, in any written form
    numbers = set(orig["counterpart_msisdn"].dropna()) | set(small_population.subscribers["msisdn"])
    digits = {n.lstrip("+") for n in numbers} | {"0" + n[3:] for n in numbers}
    for t in pub.tables.values():
        for col in t.columns:
            vals = set(t[col].dropna().astype(str))
            assert not (vals & numbers) and not (vals & digits), col
    # an in-network counterpart carries the pseudonym its subscriber has on its own records (same period)
    truth = pub.truth[pub.truth["table"].isin(["cdr", "all"])] if "table" in pub.truth.columns else pub.truth
    key = ["pid", "period"] if name == "rotate" else ["pid"]
    t = truth.drop_duplicates(key)
    own = small_population.subscribers.set_index("msisdn")["subscriber_id"]
    cp_sid = own.reindex(orig["counterpart_msisdn"].to_numpy()).to_numpy()
    inside = ~pd.isna(cp_sid)
    assert 0.3 < inside.mean() < 1                                     # both kinds are exercised
    got = pd.Series(t["subscriber_id"].to_numpy(), index=t["pid"].to_numpy())
    back = got.reindex(cdr["counterpart_pid"].astype(object).to_numpy()[inside]).to_numpy()
    assert (back == cp_sid[inside].astype(float)).all()
    # off-network numbers get tokens that are no subscriber's pseudonym; no counterpart, no token
    off = ~inside & orig["counterpart_msisdn"].notna().to_numpy()
    off_tokens = set(cdr["counterpart_pid"].astype(object).to_numpy()[off])
    assert off_tokens and not off_tokens & set(truth["pid"])
    assert cdr["counterpart_pid"].isna().to_numpy()[orig["counterpart_msisdn"].isna().to_numpy()].all()
    assert pub.manifest["counterparts"] == "pseudonymize"


def test_counterparts_are_dropped_by_default_and_bad_values_refused(small_population):
    pub = _published(small_population, "token")
    assert "counterpart_pid" not in pub.tables["cdr"].columns and pub.manifest["counterparts"] == "drop"
    with pytest.raises(UsageError, match="counterparts"):
        _published(small_population, "token:counterparts=clear")
