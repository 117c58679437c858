"""Real data: unicity curves on Gowalla NYC and Geolife; the k-anonymity and risk table of adult.csv."""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import rate_text, savefig, skipped

NAME = "realdata"
TITLE = "Unicity on real check-ins and GPS traces; risk table of adult.csv"
PAPER = "de Montjoye et al. 2013 (unicity) on Gowalla (Cho et al. 2011) and GeoLife (Zheng et al.); ARX risk metrics"
ARX_ALL_NINE = {0.01: 0.1446083531167384, 1.0: 0.5142895033485844}
ADULT_QIS = {"age, sex, race": ["age", "sex", "race"],
             "age, sex, race, marital-status": ["age", "sex", "race", "marital-status"],
             "all nine": ["sex", "age", "race", "marital-status", "education", "native-country", "workclass",
                          "occupation", "salary-class"]}


def _curve(engine, inp, resolutions, targets, seed):
    from ..attacks import UnicityCurve

    out = []
    res = UnicityCurve(max_points=5, resolutions=tuple(resolutions), targets=targets, seed=seed).run(engine, inp)
    for tb, sp in resolutions:
        pts = [r for r in res if r.params["time_bin"] == res[len(out) * 5].params["time_bin"]
               and r.params["space"] == res[len(out) * 5].params["space"]]
        out.append({"time_bin": tb, "space": sp, "points": [r.params["points"] for r in pts],
                    "unique_rate": [r.unique_rate for r in pts], "n_targets": [r.n_targets for r in pts]})
    return out


def run(ctx) -> dict:
    from ..attacks.inputs import TableInput
    from ..attacks.tabular import KAnonymity, PopulationRisk
    from ..engine import get_engine
    from ..io import load_table, load_trajectories

    if ctx.shared_data is None:
        return skipped(ctx, NAME, "no real data: set REIDCHECK_SHARED_DATA (or run beside ../shared/data of the "
                                  "checkout)")
    engine = get_engine("duckdb")
    gw = pd.read_csv(ctx.shared_data / "gowalla_nyc_checkins.tsv.gz", sep="\t", header=None,
                     names=["user", "time", "lat", "lon", "place"])
    counts = gw.groupby("user").size()
    users = counts.index[counts >= 10].to_numpy()
    if ctx.quick and len(users) > 1000:
        users = np.sort(np.random.default_rng(np.random.SeedSequence(ctx.seed)).choice(users, 1000, replace=False))
    gw = gw[gw["user"].isin(users)].reset_index(drop=True)
    gw["time"] = pd.to_datetime(gw["time"], utc=True).astype("int64") // 10**9
    ctx.log(f"gowalla: {len(users):,} users with ≥ 10 check-ins, {len(gw):,} check-ins")
    inp = load_trajectories(engine, gw, "user=user,time=time,place=place,lat=lat,lon=lon", utc_offset_h=-5)
    gowalla = _curve(engine, inp, [("1h", "cell"), ("1d", "cell"), ("1w", "grid:5km")], "all", ctx.seed)
    geo = pd.read_csv(ctx.shared_data / "geolife_11users.csv.gz")
    geo["t"] = pd.to_datetime(geo["datetime"], utc=True).astype("int64") // 10**9
    inp2 = load_trajectories(engine, geo[["uid", "t", "lat", "lon"]], "user=uid,time=t,lat=lat,lon=lon",
                             relation="geo", utc_offset_h=8)
    geolife = _curve(engine, inp2, [("1h", "grid:1km"), ("1d", "grid:5km")], "all", ctx.seed)

    from . import adult_csv, adult_dir

    adult = pd.read_csv(adult_csv(adult_dir()), sep=";", dtype=str)
    load_table(engine, adult)
    table = {}
    for label, qi in ADULT_QIS.items():
        k = KAnonymity(qi=tuple(qi), k=5).run(engine, TableInput("tbl"))
        risk = {pi: PopulationRisk(qi=tuple(qi), sampling_fraction=pi).run(engine, TableInput("tbl")).extra
                ["population_uniqueness"]["dankar"] for pi in (0.01, 0.1, 1.0)}
        table[label] = {"k": k.extra["k"], "unique_share": k.n_unique / k.n_targets,
                        "prosecutor_highest": k.extra["prosecutor_risk"]["highest"],
                        "prosecutor_average": k.extra["prosecutor_risk"]["average"], "dankar": risk}

    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 4))
    a1, a2 = fig.subplots(1, 2)
    for ax, curves, title in ((a1, gowalla, f"Gowalla NYC ({len(users):,} users ≥ 10 check-ins)"),
                              (a2, geolife, "GeoLife (11 users)")):
        for c in curves:
            v = [r["value"] if r and r["value"] is not None else np.nan for r in c["unique_rate"]]
            ax.plot(c["points"], [100 * x for x in v], "o-", label=f"{c['time_bin']} × {c['space']}")
        ax.set_xlabel("known points p")
        ax.set_ylabel("singled out (%)")
        ax.set_ylim(0, 102)
        ax.set_title(title, fontsize=9)
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    savefig(fig, ctx.out / f"{NAME}.png")

    e4 = gowalla[0]["unique_rate"][3]
    a9 = table["all nine"]
    rows = [
        {"quantity": "Gowalla ε_4 at venue × 1 h", "ours": rate_text(e4), "published": "95% (antenna × 1 h, CDR)",
         "agreement": f"{100 * (e4['value'] - 0.95):+.1f} points",
         "note": "check-ins are sparse and venue-level, so 4 points single out nearly everyone who has 4"},
        {"quantity": "Gowalla ε_4 at 5 km × 1 week", "ours": rate_text(gowalla[2]["unique_rate"][3]),
         "published": "unicity decays slowly with resolution (≈ 1/10 power)",
         "agreement": "lower than at venue × 1 h" if gowalla[2]["unique_rate"][3]["value"] < e4["value"] else "not lower",
         "note": "coarse resolutions still leave a large share unique"},
        {"quantity": "GeoLife ε_4 at 1 km × 1 h", "ours": rate_text(geolife[0]["unique_rate"][3]),
         "published": "no published figure (illustration on real GPS)", "agreement": "",
         "note": "n = 11: the interval is wide"},
        {"quantity": "adult.csv all nine QIs: Dankar population uniqueness at π = 0.01 / 1.0",
         "ours": f"{a9['dankar'][0.01]:.10f} / {a9['dankar'][1.0]:.10f}",
         "published": f"{ARX_ALL_NINE[0.01]:.10f} / {ARX_ALL_NINE[1.0]:.10f} (ARX TestRiskMetrics)",
         "agreement": "equal to 1e-9" if all(abs(a9["dankar"][p] - v) < 1e-9 for p, v in ARX_ALL_NINE.items())
         else "differs", "note": "same data, same models (Zayatz, Pitman, SNB; Dankar's rule)"},
        {"quantity": "adult.csv k / unique share: (age, sex, race) / all nine",
         "ours": f"k={table['age, sex, race']['k']}, {100 * table['age, sex, race']['unique_share']:.1f}% / "
                 f"k={a9['k']}, {100 * a9['unique_share']:.1f}%",
         "published": "all nine: 51.4% sample uniques (ARX)", "agreement": "equal" if abs(a9["unique_share"] -
                                                                                              0.5142895) < 1e-6
         else "differs", "note": ""},
    ]
    return {"params": {"gowalla_users": int(len(users)), "quick": ctx.quick},
            "figures": {"gowalla": gowalla, "geolife": geolife, "adult": {k: {**v, "dankar": {str(p): x for p, x in
                                                                                           v["dankar"].items()}}
                                                                       for k, v in table.items()}},
            "rows": rows}
