"""Identities of synthetic subscribers: names, gender, birth date, CNIC, MSISDN, operator.

Everything here is fictitious but shaped like the real thing (REFERENCES.md, "Pakistan-like setting"):
* MSISDN: E.164 ``+923XYNNNNNNN``; the ``3XY`` prefix is the *original* operator's (number portability
  means a ported subscriber keeps the prefix of the operator that issued it).
* CNIC: ``PDDTU-SSSSSSS-G``: P province digit (of the home district for most people, of another
  province for internal migrants), DD district code, T tehsil, U union council, SSSSSSS serial,
  G check digit whose parity is the gender (odd male, even female).
* Uniqueness of MSISDN and CNIC is by construction: the serials are a seeded affine permutation
  of the subscriber id modulo 10^7, so ids below 10^7 never collide.
"""

from __future__ import annotations

from importlib import resources

import numpy as np
import pandas as pd

#: Original-operator MSISDN prefixes (the three digits after +92).
OPERATOR_PREFIXES: dict[str, list[int]] = {
    "Jazz": list(range(300, 310)) + list(range(320, 330)),
    "Zong": list(range(310, 320)) + [370, 371],
    "Ufone": list(range(330, 340)),
    "Telenor": list(range(340, 350)),
    "SCOM": [355],
}
#: Market shares of mobile subscriptions (PTA, 2023, rounded).
OPERATOR_SHARES: dict[str, float] = {"Jazz": 0.37, "Zong": 0.25, "Telenor": 0.23, "Ufone": 0.14, "SCOM": 0.01}
#: Share of subscribers whose number was ported from another operator.
PORTED_SHARE = 0.02
#: Female share of mobile subscribers (GSMA gender gap for Pakistan: women ~35% less likely to own one).
FEMALE_SHARE = 0.40
#: Share of subscribers registered in a province other than that of their home district.
MIGRANT_SHARE = 0.12
#: Share of male first names drawn from Faker's ``en_PK`` list (a long tail of rarer names).
FAKER_MALE_SHARE = 0.15
#: Serial space of MSISDNs and CNICs; subscriber ids must stay below it.
SERIAL_SPACE = 10_000_000

#: Age pyramid of Pakistan (share of population by 5-year band, 2023 census, rounded), from 15 up.
AGE_BANDS = np.array([15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 65, 70, 75, 85])
AGE_SHARES = np.array([10.6, 9.5, 8.2, 7.1, 6.1, 5.0, 4.2, 3.5, 2.7, 2.1, 1.5, 1.0, 1.0])
#: SIM registration requires a CNIC: subscribers are 18 or older.
MIN_AGE = 18


def _weighted_table(name: str) -> tuple[np.ndarray, np.ndarray]:
    with resources.files("synthetic.data").joinpath(name).open("r", encoding="utf-8") as fh:
        df = pd.read_csv(fh)
    w = df["weight"].to_numpy(float)
    return df["name"].to_numpy(object), w / w.sum()


def _faker_male_first_names() -> np.ndarray:
    from faker.providers.person.en_PK import Provider

    return np.array(sorted(set(Provider.first_names)), dtype=object)


def permute_serial(ids: np.ndarray, seed_seq: np.random.SeedSequence) -> np.ndarray:
    """Seeded bijection of [0, 10^7): ``(a * id + b) mod 10^7`` with ``a`` coprime to 10."""
    rng = np.random.default_rng(seed_seq)
    a = int(rng.integers(1_000_000, SERIAL_SPACE)) | 1
    while a % 5 == 0:
        a += 2
    b = int(rng.integers(0, SERIAL_SPACE))
    return (ids.astype(np.int64) * a + b) % SERIAL_SPACE


def msisdn_numbers(ids: np.ndarray, prefixes: np.ndarray, seed_seq: np.random.SeedSequence) -> np.ndarray:
    """MSISDNs as integers ``92 3XY NNNNNNN`` (12 digits)."""
    return 92_000_000_000_000 // 100 + prefixes.astype(np.int64) * SERIAL_SPACE + permute_serial(ids, seed_seq)


def format_msisdn(numbers: np.ndarray) -> np.ndarray:
    """Integer MSISDNs → E.164 strings ``+923XYNNNNNNN``."""
    return np.char.add("+", numbers.astype(np.int64).astype(str)).astype(object)


def draw_prefixes(rng: np.random.Generator, operators: np.ndarray) -> np.ndarray:
    """Original-operator prefix per subscriber: own operator's, except for ported numbers."""
    names = list(OPERATOR_SHARES)
    shares = np.array([OPERATOR_SHARES[o] for o in names])
    n = len(operators)
    ported = rng.random(n) < PORTED_SHARE
    origin = np.where(ported, rng.choice(len(names), size=n, p=shares), operators)
    out = np.empty(n, dtype=np.int64)
    for k, name in enumerate(names):
        sel = origin == k
        out[sel] = rng.choice(OPERATOR_PREFIXES[name], size=int(sel.sum()))
    return out


def draw_operators(rng: np.random.Generator, n: int) -> np.ndarray:
    shares = np.array(list(OPERATOR_SHARES.values()))
    return rng.choice(len(shares), size=n, p=shares)


def draw_ages(rng: np.random.Generator, n: int) -> np.ndarray:
    """Ages in years (float, ≥ 18) from the age pyramid, uniform within each band."""
    lo, hi = AGE_BANDS[:-1].astype(float), AGE_BANDS[1:].astype(float)
    lo_adj = np.maximum(lo, MIN_AGE)
    w = AGE_SHARES * np.clip((hi - lo_adj) / (hi - lo), 0, 1)
    band = rng.choice(len(w), size=n, p=w / w.sum())
    return lo_adj[band] + rng.random(n) * (hi[band] - lo_adj[band])


def draw_identities(rng: np.random.Generator, ids: np.ndarray, home_district: np.ndarray,
                    districts: pd.DataFrame, start_day: np.datetime64,
                    serial_seeds: tuple[np.random.SeedSequence, np.random.SeedSequence]) -> pd.DataFrame:
    """Identity columns for the subscribers ``ids`` living in ``home_district`` (row indices)."""
    n = len(ids)
    female = rng.random(n) < FEMALE_SHARE
    males, pm = _weighted_table("first_names_male.csv")
    females, pf = _weighted_table("first_names_female.csv")
    surnames, ps = _weighted_table("surnames.csv")
    faker_males = _faker_male_first_names()
    first = np.where(
        female,
        females[rng.choice(len(females), size=n, p=pf)],
        np.where(rng.random(n) < FAKER_MALE_SHARE,
                 faker_males[rng.integers(0, len(faker_males), size=n)],
                 males[rng.choice(len(males), size=n, p=pm)]),
    )
    last = surnames[rng.choice(len(surnames), size=n, p=ps)]
    names = np.char.add(np.char.add(first.astype(str), " "), last.astype(str)).astype(object)

    age_years = draw_ages(rng, n)
    birth = start_day - np.round(age_years * 365.2425).astype("timedelta64[D]")

    # CNIC: province digit (migrants registered elsewhere), district code, tehsil, union council.
    digits = districts["cnic_digit"].to_numpy()
    prov_digit = digits[home_district]
    migrant = rng.random(n) < MIGRANT_SHARE
    pop = districts["population_m"].to_numpy()
    other = rng.choice(len(districts), size=n, p=pop / pop.sum())
    reg_district = np.where(migrant, other, home_district)
    prov_digit = np.where(migrant, digits[other], prov_digit)
    head = (prov_digit * 10_000 + (reg_district + 1) * 100
            + rng.integers(1, 5, n) * 10 + rng.integers(0, 10, n))
    serial = permute_serial(ids, serial_seeds[0])
    check = np.where(female, rng.choice([2, 4, 6, 8, 0], size=n), rng.choice([1, 3, 5, 7, 9], size=n))
    cnic = (pd.Series(head).map("{:05d}".format) + "-" + pd.Series(serial).map("{:07d}".format)
            + "-" + pd.Series(check).astype(str))

    operator = draw_operators(rng, n)
    prefix = draw_prefixes(rng, operator)
    msisdn = msisdn_numbers(ids, prefix, serial_seeds[1])
    return pd.DataFrame({
        "subscriber_id": ids.astype(np.int64),
        "msisdn": format_msisdn(msisdn),
        "cnic": cnic.to_numpy(object),
        "name": names,
        "gender": np.where(female, "F", "M").astype(object),
        "birth_date": birth.astype("datetime64[D]"),
        "operator": np.array(list(OPERATOR_SHARES))[operator].astype(object),
        "_age": age_years,
        "_msisdn_num": msisdn,
    })
