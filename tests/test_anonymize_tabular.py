"""Tabular anonymization: QI generalization, Mondrian k-anonymity, discernibility and GIL."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reidcheck.anonymize.tabular import (discernibility, generalize_qi, generalized_information_loss, mondrian,
                                         normalized_discernibility, read_hierarchy)
from reidcheck.errors import InputError, UsageError

ADULT_QI = ["age", "sex", "race", "education"]


def _covers(released: str, original, hierarchy: pd.DataFrame | None = None) -> bool:
    r, o = str(released), original
    if r == "*":
        return True
    if isinstance(o, (int, np.integer, float)):
        lo, _, hi = r.partition("-") if not r.startswith("-") else (r, "", "")
        return float(lo) <= o <= float(hi or lo)
    if "|" in r:
        return str(o) in r.split("|")
    if hierarchy is not None:
        row = hierarchy[hierarchy[0] == str(o)]
        return r in set(row.iloc[0].tolist())
    return r == str(o)


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_mondrian_classes_have_at_least_k_and_cover_the_originals(data):
    n = data.draw(st.integers(5, 60))
    k = data.draw(st.integers(1, 6))
    ages = data.draw(st.lists(st.integers(15, 90), min_size=n, max_size=n))
    genders = data.draw(st.lists(st.sampled_from("MF"), min_size=n, max_size=n))
    towns = data.draw(st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=n, max_size=n))
    df = pd.DataFrame({"age": ages, "gender": genders, "town": towns, "x": range(n)})
    res = mondrian(df, ["age", "gender", "town"], k, max_suppression=1.0)
    out = res.table
    assert len(out) + res.suppressed == n and res.kept.sum() == len(out)
    if len(out):
        assert out.groupby(["age", "gender", "town"]).size().min() >= k
    orig = df[res.kept]
    assert (out["x"].to_numpy() == orig["x"].to_numpy()).all()          # same rows, same order
    for col in ("age", "gender", "town"):
        assert all(_covers(r, o) for r, o in zip(out[col], orig[col]))


def test_mondrian_suppression_budget_and_small_tables():
    df = pd.DataFrame({"age": [30, 31, 32], "gender": ["M", "F", "M"]})
    with pytest.raises(UsageError, match="fewer than k"):
        mondrian(df, ["age", "gender"], 5)
    res = mondrian(df, ["age", "gender"], 5, max_suppression=1.0)
    assert res.suppressed == 3 and len(res.table) == 0
    for bad, msg in (({"k": 0}, "`k`"), ({"k": 2, "qi": []}, "at least one"), ({"k": 2, "qi": ["nope"]}, "nope")):
        with pytest.raises(UsageError, match=msg):
            mondrian(df, bad.get("qi", ["age"]), bad["k"])


def test_generalize_qi_bands_and_hierarchy_levels(adult_data):
    df = pd.DataFrame({"age": [0, 9, 10, 37, None], "education": ["Bachelors", "11th", "Bachelors", "11th", None]})
    h = adult_data / "adult_hierarchy_education.csv"
    out = generalize_qi(df, bands={"age": 10}, hierarchies={"education": h}, levels={"education": 2})
    assert out["age"].tolist()[:4] == ["0-9", "0-9", "10-19", "30-39"] and pd.isna(out["age"].iloc[4])
    table = read_hierarchy(h).set_index(0)[2]
    assert out["education"].tolist()[:4] == [table["Bachelors"], table["11th"], table["Bachelors"], table["11th"]]
    assert pd.isna(out["education"].iloc[4])
    assert df["age"].iloc[3] == 37                     # input untouched
    with pytest.raises(UsageError, match="beyond the hierarchy"):
        generalize_qi(df, hierarchies={"education": h}, levels={"education": 9})
    bad = pd.DataFrame({"education": ["Bachelors", "Bachelors", "Kindergarten-PhD"]})
    with pytest.raises(InputError, match=r"Column 'education'.*1 value\(s\) not in the hierarchy \(first at row 3\)"):
        generalize_qi(bad, hierarchies={"education": h}, levels={"education": 1})
    with pytest.raises(UsageError, match="not in the table"):
        generalize_qi(df, bands={"height": 5})


@pytest.fixture(scope="module")
def adult(adult_data):
    df = pd.read_csv(adult_data / "adult.csv.gz", sep=";")
    hier = {c: adult_data / f"adult_hierarchy_{c}.csv" for c in ("sex", "race", "education")}
    return df, hier


@pytest.mark.parametrize("k", [5, 10])
def test_mondrian_on_adult(adult, k):
    df, hier = adult
    t0 = time.perf_counter()
    res = mondrian(df, ADULT_QI, k, hierarchies=hier)
    elapsed = time.perf_counter() - t0
    assert res.suppressed == 0 and len(res.table) == len(df)
    assert res.table.groupby(ADULT_QI).size().min() >= k
    gil = generalized_information_loss(df, res.table, ADULT_QI, hierarchies=hier)
    assert 0 < gil < 1
    dm = discernibility(res.table, ADULT_QI)
    assert dm >= len(df) * k
    assert elapsed < 30      # a sanity bound only; timings live in benchmarks/


def test_information_loss_grows_with_k(adult):
    df, hier = adult
    g5 = generalized_information_loss(df, mondrian(df, ADULT_QI, 5, hierarchies=hier).table, ADULT_QI,
                                      hierarchies=hier)
    g50 = generalized_information_loss(df, mondrian(df, ADULT_QI, 50, hierarchies=hier).table, ADULT_QI,
                                       hierarchies=hier)
    assert g50 > g5


def test_metric_values_on_a_hand_example():
    orig = pd.DataFrame({"age": [20, 30, 40, 50], "g": ["M", "F", "M", "F"]})
    rel = pd.DataFrame({"age": ["20-30", "20-30", "40-50", "40-50"], "g": ["*", "*", "M", "F"]})
    # age: 10/30 on every row; g: 1 on two rows, 0 on two → (1/3 + 1/2) / 2
    assert generalized_information_loss(orig, rel, ["age", "g"]) == pytest.approx((1 / 3 + 0.5) / 2)
    assert discernibility(rel, ["age", "g"]) == 2 ** 2 + 1 + 1
    assert discernibility(rel.iloc[:2], ["age", "g"], n_suppressed=2, n_total=4) == 4 + 2 * 4


# ------------------------------------------------------------------------------------------------
# Further properties and edge cases: missing values, hierarchies, the metrics' formulas.
TOWNS = pd.DataFrame({0: ["a", "b", "c", "d", "e", "f"], 1: ["ab", "ab", "cd", "cd", "ef", "ef"],
                      2: ["abcd", "abcd", "abcd", "abcd", "ef", "ef"], 3: ["*"] * 6})


def _covers_hier(released, original) -> bool:
    """Does a released value of TOWNS (missing, leaf, ancestor or *) cover the original?"""
    if pd.isna(original):
        return pd.isna(released) or released == "*"
    row = TOWNS[TOWNS[0] == original]
    return released in set(row.iloc[0].tolist())


def _covers_num(released, original) -> bool:
    if pd.isna(original):
        return pd.isna(released) or released == "*"
    if released == "*":
        return True
    lo, sep, hi = released.partition("-")
    return float(lo) <= original <= float(hi if sep else lo)


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_mondrian_with_missing_values_and_a_hierarchy(data):
    n = data.draw(st.integers(1, 40))
    k = data.draw(st.integers(1, 8))
    ages = data.draw(st.lists(st.one_of(st.none(), st.integers(0, 30)), min_size=n, max_size=n))
    towns = data.draw(st.lists(st.one_of(st.none(), st.sampled_from("abcdef")), min_size=n, max_size=n))
    sex = data.draw(st.lists(st.sampled_from(["F", "M", "X"]), min_size=n, max_size=n))
    df = pd.DataFrame({"age": pd.array(ages, dtype="Float64"), "town": pd.array(towns, dtype="str"), "sex": sex})
    before = df.copy()
    qi = ["age", "town", "sex"]
    res = mondrian(df, qi, k, hierarchies={"town": TOWNS}, max_suppression=1.0)
    pd.testing.assert_frame_equal(df, before)                                   # input untouched
    out = res.table
    assert len(out) + res.suppressed == n == len(res.kept) and int(res.kept.sum()) == len(out)
    assert res.suppressed == (n if n < k else 0)                                # n ≥ k: Mondrian needs none
    if len(out):
        assert out.groupby(qi, dropna=False).size().min() >= k
    assert list(out.index) == list(df.index[res.kept])
    orig = df[res.kept]
    assert all(_covers_num(r, o) for r, o in zip(out["age"], orig["age"]))
    assert all(_covers_hier(r, o) for r, o in zip(out["town"], orig["town"]))
    assert all(r == o or r == "*" or o in r.split("|") for r, o in zip(out["sex"], orig["sex"]))
    # the discernibility lower bound of a k-anonymous release, and GIL in [0, 1]
    dm = discernibility(out, qi, n_suppressed=res.suppressed, n_total=n)
    assert dm >= n * min(k, n)
    gil = generalized_information_loss(df, out, qi, hierarchies={"town": TOWNS}, kept_mask=res.kept)
    assert 0 <= gil <= 1


def test_mondrian_splits_at_the_median_and_releases_ranges_sets_and_ancestors():
    df = pd.DataFrame({"age": [1, 2, 3, 4, 5, 6, 7, 8]})
    res = mondrian(df, ["age"], 2)
    assert res.table["age"].tolist() == ["1-2", "1-2", "3-4", "3-4", "5-6", "5-6", "7-8", "7-8"]
    assert res.partitions == 4
    # missing values are a value of their own: split off and kept missing
    df = pd.DataFrame({"age": [np.nan] * 6 + [20, 21, 22, 23, 24, 25]})
    out = mondrian(df, ["age"], 3).table["age"]
    assert out.iloc[:6].isna().all() and out.iloc[6:].tolist() == ["20-22"] * 3 + ["23-25"] * 3
    # categorical without hierarchy: the single value, a |-set, or * when every value is present
    df = pd.DataFrame({"c": list("aabbccdd")})
    assert mondrian(df, ["c"], 4).table["c"].tolist() == ["a|b"] * 4 + ["c|d"] * 4
    assert mondrian(df, ["c"], 5, max_suppression=0).table["c"].tolist() == ["*"] * 8
    # with a hierarchy: the lowest common ancestor
    df = pd.DataFrame({"town": list("abcdeeff")})
    res = mondrian(df, ["town"], 2, hierarchies={"town": TOWNS})
    assert res.table["town"].tolist() == ["ab", "ab", "cd", "cd", "e", "e", "f", "f"]
    res = mondrian(df, ["town"], 3, hierarchies={"town": TOWNS})
    assert res.table["town"].tolist() == ["abcd"] * 4 + ["ef"] * 4


def test_mondrian_on_adult_with_every_hierarchy(adult, adult_data):
    df, hier = adult
    hier = dict(hier, age=adult_data / "adult_hierarchy_age.csv")
    age_levels = set(read_hierarchy(hier["age"]).to_numpy().ravel())
    for k in (5, 10):
        t0 = time.perf_counter()
        res = mondrian(df, ADULT_QI, k, hierarchies=hier)
        assert time.perf_counter() - t0 < 5
        assert res.table.groupby(ADULT_QI).size().min() >= k
        assert set(res.table["age"]) <= age_levels                 # ages released as hierarchy values
        assert 0 < generalized_information_loss(df, res.table, ADULT_QI, hierarchies=hier) < 1
        assert discernibility(res.table, ADULT_QI) >= len(df) * k
    with pytest.raises(UsageError, match="both as numeric and with a hierarchy"):
        mondrian(df, ADULT_QI, 5, hierarchies=hier, numeric=["age"])


def test_mondrian_argument_errors():
    df = pd.DataFrame({"age": [30, 31, 32, 33], "g": list("MFMF")})
    for kwargs, msg in (({"k": 2.0}, "`k`"), ({"k": True}, "`k`"), ({"k": 2, "max_suppression": 1.5}, "max_suppression"),
                        ({"k": 2, "numeric": ["zip"]}, "not a quasi-identifier"),
                        ({"k": 2, "hierarchies": {"zip": TOWNS}}, "not in the table")):
        with pytest.raises(UsageError, match=msg):
            mondrian(df, ["age", "g"], **kwargs)
    with pytest.raises(UsageError, match="twice"):
        mondrian(df, ["age", "age"], 2)
    with pytest.raises(UsageError, match="fewer than k"):
        mondrian(df, ["age"], 5, max_suppression=0.99)
    res = mondrian(df, ["age"], 5, max_suppression=1)
    assert res.suppressed == 4 and not res.kept.any() and list(res.table.columns) == ["age", "g"]
    with pytest.raises(InputError, match=r"Column 'g'.*not in the hierarchy \(first at row 1\)"):
        mondrian(df, ["g"], 2, hierarchies={"g": TOWNS})


def test_generalize_qi_levels_match_the_file_and_bad_arguments(adult_data, tmp_path):
    path = adult_data / "adult_hierarchy_age.csv"
    rows = [line.split(";") for line in path.read_text().splitlines()]
    df = pd.DataFrame({"age": [17, 39, 90, 39], "other": [1, 2, 3, 4]})
    for level in range(len(rows[0])):
        out = generalize_qi(df, hierarchies={"age": path}, levels={"age": level})
        want = [next(r[level] for r in rows if r[0] == str(v)) for v in df["age"]]
        assert [str(v) for v in out["age"]] == want
        assert out["other"].tolist() == [1, 2, 3, 4]
    with pytest.raises(UsageError, match="beyond the hierarchy"):
        generalize_qi(df, hierarchies={"age": path}, levels={"age": len(rows[0])})
    with pytest.raises(UsageError, match="needs both a hierarchy and a level"):
        generalize_qi(df, hierarchies={"age": path})
    with pytest.raises(UsageError, match="integer ≥ 0"):
        generalize_qi(df, hierarchies={"age": path}, levels={"age": -1})
    with pytest.raises(UsageError, match="positive number"):
        generalize_qi(df, bands={"age": 0})
    with pytest.raises(InputError, match=r"Column 'name'.*not numbers.*first at row 2"):
        generalize_qi(pd.DataFrame({"name": ["1", "x"]}), bands={"name": 5})
    # non-integer data: half-open bands [lo, lo + w)
    assert generalize_qi(pd.DataFrame({"v": [0.5, 1.25]}), bands={"v": 1})["v"].tolist() == ["0-1", "1-2"]
    # hierarchy files: unreadable, ragged, duplicated raw values
    with pytest.raises(InputError, match="missing.csv"):
        read_hierarchy(tmp_path / "missing.csv")
    (tmp_path / "ragged.csv").write_text("a;x;*\nb;*\n")
    with pytest.raises(InputError, match=r"ragged.csv'.*row 2 has an empty level"):
        read_hierarchy(tmp_path / "ragged.csv")
    (tmp_path / "dup.csv").write_text("a;*\na;*\n")
    with pytest.raises(InputError, match="appears twice"):
        read_hierarchy(tmp_path / "dup.csv")


def test_information_loss_of_hierarchy_values_sets_and_suppression(adult_data):
    h = read_hierarchy(adult_data / "adult_hierarchy_education.csv")
    leaves = len(h)
    under = h.groupby(2)[0].size()
    orig = pd.DataFrame({"education": ["Bachelors", "Masters", "9th", "HS-grad"], "g": list("abcd")})
    rel = pd.DataFrame({"education": [h.set_index(0).loc["Bachelors", 1], h.set_index(0).loc["Masters", 2],
                                      "9th", "*"],
                        "g": ["a|b", "a|b", "c", None]})
    edu = [(h[1] == h.set_index(0).loc["Bachelors", 1]).sum() - 1, under[h.set_index(0).loc["Masters", 2]] - 1, 0,
           leaves - 1]
    want_edu = np.array(edu, dtype=float) / (leaves - 1)
    want_g = np.array([1 / 3, 1 / 3, 0, 1])            # 2 of 4 values -> 1/3; a blanked-out value -> 1
    got = generalized_information_loss(orig, rel, ["education", "g"], hierarchies={"education": h})
    assert got == pytest.approx((want_edu.sum() + want_g.sum()) / 8)
    # suppressed rows (kept_mask) cost 1 on every QI
    got = generalized_information_loss(orig, rel.iloc[:2], ["education", "g"], hierarchies={"education": h},
                                       kept_mask=[True, True, False, False])
    assert got == pytest.approx((want_edu[:2].sum() + want_g[:2].sum() + 4) / 8)
    with pytest.raises(InputError, match=r"Column 'g'.*row 3 does not generalize"):
        generalized_information_loss(orig, rel.assign(g=["a", "b", "a|b", "d"]), ["g"])
    with pytest.raises(UsageError, match="line up"):
        generalized_information_loss(orig, rel.iloc[:3], ["g"])


def test_normalized_discernibility_bounds():
    unique = pd.DataFrame({"q": list("abcd")})
    assert normalized_discernibility(unique, ["q"]) == pytest.approx(1 / 4)
    assert normalized_discernibility(unique.iloc[:0], ["q"], n_suppressed=4) == pytest.approx(1.0)
    assert normalized_discernibility(pd.DataFrame({"q": ["*"] * 4}), ["q"]) == pytest.approx(1.0)
    with pytest.raises(UsageError, match="n_total"):
        discernibility(unique, ["q"], n_suppressed=1, n_total=4)
