"""Pakistan-like geography: districts, a population-density surface, cell sites and sectors.

Units: positions are (lat, lon) in degrees; distances in km (great-circle, R = 6371 km);
areas in km².

The density surface of a district is a mixture of
* an urban core holding ``urban_m`` million people, with density falling off exponentially
  with the distance from the district centre (length scale ``URBAN_SCALE_KM * sqrt(urban_m)``), and
* a rural remainder spread uniformly over a disc of the district's area.

Cell sites are drawn from the same surface, flattened (a longer urban length scale, because
site density grows slower than traffic), plus a share of coverage sites spread over the land.
At the real network size (``sites ≈ 55,000``) this gives sectors of ~0.1–0.3 km² in the centres of
the largest cities and > 5 km² in rural districts (checked in the tests). With fewer sites the same
surface is sampled more sparsely, so every cell grows by the same factor: a generated population of
N subscribers gets ``sites`` proportional to N by default so that subscribers per cell — what decides
uniqueness — stays near the same value at every N (see ``default_sites``).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

EARTH_RADIUS_KM = 6371.0088
#: Urban density length scale per sqrt(million inhabitants), km (Karachi: ~8 km).
URBAN_SCALE_KM = 1.85
#: Site placement flattens the urban profile by this factor on the length scale.
SITE_FLATTENING = 1.6
#: Share of sites placed for coverage (uniform over district land) rather than by population.
COVERAGE_SHARE = 0.15
#: Sectors per site.
SECTORS = 3
#: Real network size in Pakistan (~55-58k mobile sites, REFERENCES.md).
REAL_SITES = 55_000


def load_districts() -> pd.DataFrame:
    """The shipped district table (population in millions, 2023 census where known; area km²)."""
    with resources.files("synthetic.data").joinpath("districts.csv").open("r", encoding="utf-8") as fh:
        df = pd.read_csv(fh)
    df["rural_m"] = (df["population_m"] - df["urban_m"]).clip(lower=0.0)
    df["urban_scale_km"] = URBAN_SCALE_KM * np.sqrt(df["urban_m"])
    df["radius_km"] = np.sqrt(df["area_km2"] / np.pi)
    return df


def to_unit_xyz(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Unit-sphere coordinates; Euclidean nearest neighbour there is great-circle nearest."""
    la, lo = np.radians(lat), np.radians(lon)
    return np.column_stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)])


def haversine_km(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Great-circle distance in km (vectorized, broadcasting)."""
    la1, lo1, la2, lo2 = map(np.radians, (lat1, lon1, lat2, lon2))
    a = np.sin((la2 - la1) / 2) ** 2 + np.cos(la1) * np.cos(la2) * np.sin((lo2 - lo1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def offset(lat, lon, dist_km, bearing_rad):
    """Move from (lat, lon) by ``dist_km`` along ``bearing_rad`` (local flat approximation, fine below ~100 km)."""
    dlat = dist_km * np.cos(bearing_rad) / 110.574
    dlon = dist_km * np.sin(bearing_rad) / (111.320 * np.cos(np.radians(lat)))
    return lat + dlat, lon + dlon


def sample_positions(rng: np.random.Generator, districts: pd.DataFrame, n: int,
                     flatten: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw ``n`` positions from the population-density surface.

    Returns (lat, lon, district index). ``flatten`` > 1 widens urban cores (used for site placement).
    """
    pop = districts["population_m"].to_numpy()
    d = rng.choice(len(districts), size=n, p=pop / pop.sum())
    urban_share = (districts["urban_m"] / districts["population_m"]).to_numpy()[d]
    is_urban = rng.random(n) < urban_share
    # Urban: radial exponential profile in 2-D -> radius ~ Gamma(2, L).
    r_urban = rng.gamma(2.0, 1.0, n) * districts["urban_scale_km"].to_numpy()[d] * flatten
    # Rural: uniform over the district disc -> radius = R * sqrt(U).
    r_rural = districts["radius_km"].to_numpy()[d] * np.sqrt(rng.random(n))
    r = np.where(is_urban, r_urban, r_rural)
    theta = rng.random(n) * 2 * np.pi
    lat, lon = offset(districts["lat"].to_numpy()[d], districts["lon"].to_numpy()[d], r, theta)
    return lat, lon, d


@dataclass(frozen=True)
class Geography:
    """Districts, sites and cells, with a spatial index for position → cell lookup.

    ``cells`` has the canonical columns of DESIGN.md (cell_id, site_id, lat, lon, district, province,
    urban) plus ``azimuth_deg`` (sector centre bearing) and ``area_km2`` (estimated sector area).
    """

    districts: pd.DataFrame
    cells: pd.DataFrame
    site_lat: np.ndarray
    site_lon: np.ndarray
    site_district: np.ndarray
    site_rotation_deg: np.ndarray
    tree: cKDTree

    @property
    def n_sites(self) -> int:
        return len(self.site_lat)

    def locate(self, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        """Serving cell index (row in ``cells``) for each position: nearest site, then sector by bearing."""
        _, site = self.tree.query(to_unit_xyz(lat, lon))
        slat, slon = self.site_lat[site], self.site_lon[site]
        y = (lat - slat) * 110.574
        x = (lon - slon) * 111.320 * np.cos(np.radians(slat))
        bearing = np.degrees(np.arctan2(x, y)) % 360.0
        sector = (((bearing - self.site_rotation_deg[site]) % 360.0) // (360.0 / SECTORS)).astype(np.int64)
        return site * SECTORS + np.minimum(sector, SECTORS - 1)


def build_geography(sites: int, seed_seq: np.random.SeedSequence) -> Geography:
    """Place ``sites`` cell sites (each with ``SECTORS`` sectors) on the density surface."""
    if sites < 1:
        raise ValueError(f"Parameter `sites` must be at least 1. Got {sites} instead.")
    rng = np.random.default_rng(seed_seq)
    districts = load_districts()
    n_cov = int(round(sites * COVERAGE_SHARE))
    n_pop = sites - n_cov
    lat_p, lon_p, d_p = sample_positions(rng, districts, n_pop, flatten=SITE_FLATTENING)
    # Coverage sites: uniform over land, each district weighted by its area.
    area = districts["area_km2"].to_numpy()
    d_c = rng.choice(len(districts), size=n_cov, p=area / area.sum())
    r_c = districts["radius_km"].to_numpy()[d_c] * np.sqrt(rng.random(n_cov))
    lat_c, lon_c = offset(districts["lat"].to_numpy()[d_c], districts["lon"].to_numpy()[d_c],
                          r_c, rng.random(n_cov) * 2 * np.pi)
    lat = np.concatenate([lat_p, lat_c])
    lon = np.concatenate([lon_p, lon_c])
    # Order sites west→east, south→north, so ids do not reveal how a site was placed.
    order = np.lexsort((lat, np.round(lon, 6)))
    lat, lon = lat[order], lon[order]
    # A site belongs to the district whose centre is nearest (districts as Voronoi regions of centres).
    dtree = cKDTree(to_unit_xyz(districts["lat"].to_numpy(), districts["lon"].to_numpy()))
    _, site_district = dtree.query(to_unit_xyz(lat, lon))
    rotation = rng.random(sites) * (360.0 / SECTORS)
    tree = cKDTree(to_unit_xyz(lat, lon))
    # Sector area: site density from the distance to the k-th nearest other site.
    k = min(7, sites)
    if sites > 1:
        dist, _ = tree.query(to_unit_xyz(lat, lon), k=k)
        d_k = dist[:, -1] * EARTH_RADIUS_KM  # chord ≈ arc at these scales
        site_area = np.pi * d_k**2 / (k - 1)
    else:
        site_area = np.array([float(area.sum())])
    dist_centre = haversine_km(lat, lon, districts["lat"].to_numpy()[site_district],
                               districts["lon"].to_numpy()[site_district])
    urban_site = dist_centre < 2.5 * districts["urban_scale_km"].to_numpy()[site_district]
    site_ids = np.arange(sites, dtype=np.int64)
    cells = pd.DataFrame({
        "cell_id": np.repeat(site_ids, SECTORS) * SECTORS + np.tile(np.arange(SECTORS), sites),
        "site_id": np.repeat(site_ids, SECTORS),
        "lat": np.round(np.repeat(lat, SECTORS), 6),
        "lon": np.round(np.repeat(lon, SECTORS), 6),
        "district": districts["district"].to_numpy()[np.repeat(site_district, SECTORS)],
        "province": districts["province"].to_numpy()[np.repeat(site_district, SECTORS)],
        "urban": np.repeat(urban_site, SECTORS),
        "azimuth_deg": np.round((rotation[:, None] + (np.arange(SECTORS) + 0.5) * 360.0 / SECTORS)
                                .ravel() % 360.0, 1),
        "area_km2": np.round(np.repeat(site_area / SECTORS, SECTORS), 4),
    })
    cells["cell_id"] = cells["cell_id"].astype(np.int64)
    return Geography(districts=districts, cells=cells, site_lat=lat, site_lon=lon,
                     site_district=site_district.astype(np.int64), site_rotation_deg=rotation, tree=tree)
