"""Sweeney 2000 / Golle 2006: uniqueness of simple demographics, on synthetic subscribers and adult.csv."""

from __future__ import annotations

import pandas as pd

from . import pct, savefig

NAME = "sweeney2000"
TITLE = "Share of people unique by (area, gender, birth date) and similar demographics"
PAPER = "Sweeney 2000, Simple Demographics Often Identify People Uniquely; Golle 2006, WPES"
SYNTHETIC_QIS = {
    "district, gender, birth date": ["home_district", "gender", "birth_date"],
    "district, gender, birth month": ["home_district", "gender", "birth_month"],
    "district, gender, birth year": ["home_district", "gender", "birth_year"],
    "province, gender, birth date": ["province", "gender", "birth_date"],
}
ADULT_QIS = {
    "adult: age, sex, race, native-country": ["age", "sex", "race", "native-country"],
    "adult: age, sex, race, marital-status, education": ["age", "sex", "race", "marital-status", "education"],
    "adult: all nine attributes": ["sex", "age", "race", "marital-status", "education", "native-country",
                                   "workclass", "occupation", "salary-class"],
}


def _unique_share(engine, qi: list[str]) -> tuple[float, int]:
    from ..attacks.inputs import TableInput
    from ..attacks.tabular import KAnonymity

    res = KAnonymity(qi=tuple(qi), k=2).run(engine, TableInput("tbl"))
    return res.n_unique / res.n_targets, res.n_targets


def run(ctx) -> dict:
    from ..engine import get_engine
    from ..io import load_table, read_population

    n = 5_000 if ctx.quick else 100_000
    pop = read_population(ctx.population(n, 1))
    subs = pop.subscribers
    birth = pd.to_datetime(subs["birth_date"])
    province = pop.cells.drop_duplicates("district").set_index("district")["province"]
    from synthetic.geography import load_districts

    province = pd.concat([province, load_districts().set_index("district")["province"]])
    province = province[~province.index.duplicated()]
    table = pd.DataFrame({"home_district": subs["home_district"].astype(str), "gender": subs["gender"].astype(str),
                          "birth_date": birth.dt.strftime("%Y-%m-%d"), "birth_month": birth.dt.strftime("%Y-%m"),
                          "birth_year": birth.dt.year.astype(str),
                          "province": subs["home_district"].map(province).astype(str)})
    engine = get_engine("duckdb")
    load_table(engine, table)
    figures = {}
    for label, qi in SYNTHETIC_QIS.items():
        share, rows = _unique_share(engine, qi)
        figures[label] = {"unique": share, "records": rows}
        ctx.log(f"{label}: {pct(share)} of {rows:,}")
    from . import adult_csv, adult_dir

    if (adult_folder := adult_dir()) is not None:
        adult = pd.read_csv(adult_csv(adult_folder), sep=";", dtype=str)
        load_table(engine, adult)
        for label, qi in ADULT_QIS.items():
            share, rows = _unique_share(engine, qi)
            figures[label] = {"unique": share, "records": rows}
            ctx.log(f"{label}: {pct(share)} of {rows:,}")

    _plot(ctx, figures)

    d = figures["district, gender, birth date"]["unique"]
    rows = [
        {"quantity": "unique by (district, gender, birth date)", "ours": pct(d),
         "published": "18% by (county, sex, DOB); 63–87% by (ZIP5, sex, DOB)",
         "agreement": f"{100 * (d - 0.87):+.1f} points from Sweeney's 87%, {100 * (d - 0.63):+.1f} from Golle's 63%",
         "note": f"a sample of {n:,} subscribers over 42 districts (~{n // 42:,} per district) against ~100,000 "
                 "people per US county and ~10,000 per ZIP: with so few people per (district, gender), almost "
                 "every birth date is unique; it falls as the sample approaches the population"},
        {"quantity": "unique by (district, gender, birth year)",
         "ours": pct(figures["district, gender, birth year"]["unique"]),
         "published": "much lower than with the full date (Sweeney: year alone rarely identifies)",
         "agreement": "agrees" if figures["district, gender, birth year"]["unique"] < d else "differs",
         "note": "365× fewer birth values"},
    ]
    if "adult: all nine attributes" in figures:
        a9 = figures["adult: all nine attributes"]["unique"]
        rows.append({"quantity": "adult.csv unique by all nine attributes", "ours": f"{a9:.6f}",
                     "published": "0.5142895033 (ARX sample uniques 15,512 / 30,162)",
                     "agreement": "equal" if abs(a9 - 0.5142895033485844) < 1e-9 else "differs",
                     "note": "the same data and definition as ARX's TestRiskMetrics"})
    else:
        rows.append({"quantity": "adult.csv rows", "ours": "skipped", "published": "", "agreement": "",
                     "note": "../shared/data absent"})
    return {"params": {"subscribers": n}, "figures": figures, "rows": rows}


#: The published shares drawn as reference lines: (percent, legend text, colour, line style).
REFERENCES = ((87, "Sweeney 2000: ZIP5, sex, birth date 87%", "#d62728", "--"),
              (63, "Golle 2006: ZIP5, sex, birth date 63%", "#2ca02c", "-."),
              (18, "Sweeney 2000: county, sex, birth date 18%", "#9467bd", ":"))


def _plot(ctx, figures: dict) -> None:
    """Share unique per set of quasi-identifiers; the published shares are reference lines named in a
    legend under the axes (no text on the lines: none can overlap a bar, a tick or another)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 4.4), layout="constrained")
    ax = fig.subplots()
    labels = list(figures)
    ax.barh(range(len(labels)), [100 * figures[k]["unique"] for k in labels], color="#4c72b0")
    ax.set_yticks(range(len(labels)), labels, fontsize=7)
    for x, name, colour, style in REFERENCES:
        ax.axvline(x, ls=style, lw=1.2, color=colour, label=name)
    ax.set_xlabel("records unique (%)")
    ax.set_xlim(0, 100)
    ax.invert_yaxis()
    fig.legend(loc="outside lower center", ncols=len(REFERENCES), fontsize=7, frameon=False,
               title="published", title_fontsize=7)
    savefig(fig, ctx.out / f"{NAME}.png")
