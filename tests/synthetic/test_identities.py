"""Identity formats, uniqueness and demographic shape."""

import re

import numpy as np
import pandas as pd

from synthetic import identities
from synthetic.geography import load_districts


def test_msisdn_format_prefixes_and_uniqueness(small_population):
    s = small_population.subscribers
    assert s["msisdn"].is_unique
    assert s["msisdn"].str.fullmatch(r"\+923\d{9}").all()
    prefix = s["msisdn"].str.slice(3, 6).astype(int)
    valid = {p for ps in identities.OPERATOR_PREFIXES.values() for p in ps}
    assert prefix.isin(valid).all()
    # The prefix shows the original operator: it matches the current one except for ported numbers.
    origin = prefix.map({p: op for op, ps in identities.OPERATOR_PREFIXES.items() for p in ps})
    mismatch = (origin != s["operator"]).mean()
    assert mismatch < 3 * identities.PORTED_SHARE


def test_operator_market_shares(small_population):
    shares = small_population.subscribers["operator"].value_counts(normalize=True)
    for op, expected in identities.OPERATOR_SHARES.items():
        sd = np.sqrt(expected * (1 - expected) / 2000)
        assert abs(shares.get(op, 0.0) - expected) < 4 * sd + 1e-9, op


def test_cnic_format_province_and_gender_parity(small_population):
    s = small_population.subscribers
    assert s["cnic"].is_unique
    assert s["cnic"].str.fullmatch(r"[1-7]\d{4}-\d{7}-\d").all()
    last = s["cnic"].str[-1].astype(int)
    assert ((last % 2 == 1) == (s["gender"] == "M")).all()
    d = load_districts().set_index("district")["cnic_digit"]
    same_province = s["cnic"].str[0].astype(int) == s["home_district"].map(d)
    # Registered in the home district's province, except internal migrants (~12%).
    assert same_province.mean() > 1 - 2 * identities.MIGRANT_SHARE


def test_names_and_gender(small_population):
    s = small_population.subscribers
    female_first = set(identities._weighted_table("first_names_female.csv")[0])
    first_f = s.loc[s["gender"] == "F", "name"].str.rsplit(" ", n=1).str[0]
    assert first_f.isin(female_first).all()
    assert 0.33 < (s["gender"] == "F").mean() < 0.47
    # Frequency-weighted: the commonest surname (Khan) is far more frequent than a rare one.
    assert s["name"].str.endswith(" Khan").mean() > 0.05


def test_age_pyramid(small_population):
    s = small_population.subscribers
    age = (pd.Timestamp("2025-01-06") - pd.to_datetime(s["birth_date"])).dt.days / 365.2425
    assert age.min() >= 17.99 and age.max() < 85.01
    # Pakistan's pyramid is young: more 18–29 than 50+ year olds, median in the low thirties.
    assert (age < 30).mean() > (age >= 50).mean() * 1.5
    assert 26 < age.median() < 38


def test_serial_permutation_is_a_bijection():
    ss = np.random.SeedSequence(1)
    ids = np.arange(0, identities.SERIAL_SPACE, 997)
    out = identities.permute_serial(ids, ss)
    assert len(np.unique(out)) == len(ids)
    assert out.min() >= 0 and out.max() < identities.SERIAL_SPACE


def test_formats_have_no_collision_with_offnet_numbers(small_population):
    cp = small_population.cdr["counterpart_msisdn"].dropna()
    assert cp.str.fullmatch(r"\+923\d{9}").all()
    assert re.fullmatch(r"\+923\d{9}", small_population.subscribers["msisdn"].iloc[0])
