"""Geography: districts from the reference populations, cell sites by density, realistic cell areas."""

import numpy as np

from synthetic.geography import REAL_SITES, build_geography, load_districts

# REFERENCES.md, largest cities (2023 census, millions).
CITIES = {"Karachi": 18.9, "Lahore": 13.0, "Faisalabad": 3.7, "Rawalpindi": 3.4, "Gujranwala": 2.5,
          "Multan": 2.2, "Hyderabad": 1.9, "Peshawar": 1.9, "Quetta": 1.6, "Islamabad": 1.1,
          "Sargodha": 1.0, "Sialkot": 0.9}


def test_district_table_carries_reference_city_populations():
    d = load_districts().set_index("district")
    for city, pop in CITIES.items():
        assert d.loc[city, "urban_m"] == pop
    assert set(d["cnic_digit"]) == set(range(1, 8))


def test_full_scale_cell_areas_match_reference():
    """At the real network size (~55k sites), sectors are ~0.15 km² in city centres and > 5 km² in
    rural districts (de Montjoye 2013: 0.15 km² in cities to 15 km² rural; REFERENCES.md)."""
    geo = build_geography(REAL_SITES, np.random.SeedSequence(3))
    c = geo.cells
    centre = c[c["urban"] & c["district"].isin(["Karachi", "Lahore"])]["area_km2"].median()
    assert 0.05 <= centre <= 0.4
    for rural in ("Tharparkar", "Khuzdar", "Kech"):
        assert c.loc[c["district"] == rural, "area_km2"].median() > 5.0, rural


def test_sites_follow_population():
    geo = build_geography(5000, np.random.SeedSequence(4))
    per = geo.cells.groupby("district")["site_id"].nunique()
    assert per.idxmax() == "Karachi"
    assert per["Karachi"] > per["Gilgit"] * 10


def test_locate_returns_the_nearest_site_sector():
    geo = build_geography(200, np.random.SeedSequence(5))
    cells = geo.locate(geo.site_lat + 1e-4, geo.site_lon)   # just north of every site
    assert (cells // 3 == np.arange(geo.n_sites)).all()
    assert (geo.cells["cell_id"].to_numpy() == np.arange(len(geo.cells))).all()
