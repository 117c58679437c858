"""Canonical tables (DESIGN.md), their Arrow schemas, and column roles (one place: canonical names and the
names and value shapes by which exports in the wild are recognized).

In memory, timestamps are int64 epoch seconds UTC; on disk (Parquet) they are ``timestamp[s, UTC]``.
Dates (``birth_date``, ``depart_date``, ``return_date``) are calendar dates (``date32``).
Ids are int64. Columns beyond these may be added; none of these is ever renamed.
"""

from __future__ import annotations

import re

import pyarrow as pa

# Column roles shared by the canonical tables and by column mappings of real exports.
USER = "subscriber_id"
TIME = "timestamp"
CELL = "cell_id"
LAT = "lat"
LON = "lon"

# Column roles of exports in the wild, recognized by name (lower-cased) — what ``reidcheck audit`` looks
# for when it sorts a table into a kind and picks its user, time, place, lat/lon and count columns.
USER_COLS = ("pid", "subscriber_id", "user_id", "user", "uid", "customer_id", "imsi", "msisdn_hash", "msisdn")
TIME_COLS = ("timestamp", "datetime", "time", "event_time", "start_time", "ts")
PLACE_COLS = ("cell_id", "cell", "place", "antenna_id", "site_id", "location_id", "venue_id")
LAT_COLS, LON_COLS = ("lat", "latitude"), ("lon", "lng", "longitude")
COUNT_COLS = ("users", "count", "n", "visitors", "subscribers")
QI_COLS = ("age", "gender", "sex", "birth_date", "birth_year", "date_of_birth", "dob", "home_district", "district",
           "province", "zip", "zipcode", "postcode", "race", "marital-status", "marital_status", "education")
NAME_COLS = ("name", "full_name", "first_name", "last_name", "surname", "customer_name")
ID_COLS = ("msisdn", "cnic", "phone", "phone_number", "mobile", "national_id", "counterpart_msisdn")
# ... and by content: values shaped like a Pakistani phone number or CNIC make a column a direct
# identifier; lower-case hexadecimal values make it a candidate hashed pseudonym.
PHONE = re.compile(r"^(\+?92|0)3\d{9}$")
CNIC = re.compile(r"^\d{5}-?\d{7}-?\d$")
HEX = re.compile(r"^[0-9a-f]+$")

TIMESTAMP = pa.timestamp("s", tz="UTC")

SCHEMAS: dict[str, pa.Schema] = {
    "cells": pa.schema([
        ("cell_id", pa.int64()), ("site_id", pa.int64()), ("lat", pa.float64()), ("lon", pa.float64()),
        ("district", pa.string()), ("province", pa.string()), ("urban", pa.bool_()),
        ("azimuth_deg", pa.float64()), ("area_km2", pa.float64()),
    ]),
    "subscribers": pa.schema([
        ("subscriber_id", pa.int64()), ("msisdn", pa.string()), ("cnic", pa.string()), ("name", pa.string()),
        ("gender", pa.string()), ("birth_date", pa.date32()), ("home_district", pa.string()),
        ("home_cell_id", pa.int64()), ("work_cell_id", pa.int64()), ("operator", pa.string()),
    ]),
    "cdr": pa.schema([
        ("subscriber_id", pa.int64()), ("timestamp", TIMESTAMP), ("event_type", pa.string()),
        ("direction", pa.string()), ("counterpart_msisdn", pa.string()), ("duration_s", pa.int64()),
        ("cell_id", pa.int64()),
    ]),
    "pings": pa.schema([("subscriber_id", pa.int64()), ("timestamp", TIMESTAMP), ("cell_id", pa.int64())]),
    "travel": pa.schema([
        ("subscriber_id", pa.int64()), ("country", pa.string()), ("depart_date", pa.date32()),
        ("return_date", pa.date32()),
    ]),
}

#: Columns that identify a real person directly; never printed in reports unless asked for.
DIRECT_IDENTIFIERS = ("msisdn", "cnic", "name", "counterpart_msisdn")


def to_arrow(name: str, df) -> pa.Table:
    """A canonical table from pandas (int64 epoch seconds for timestamps) to Arrow with its schema."""
    schema = SCHEMAS[name]
    arrays = []
    for field in schema:
        col = df[field.name]
        if field.type == TIMESTAMP:
            arrays.append(pa.array(col.to_numpy("int64"), pa.int64()).cast(TIMESTAMP))
        elif pa.types.is_date32(field.type):
            arrays.append(pa.array(col.to_numpy("datetime64[D]"), pa.date32()))
        else:
            arrays.append(pa.array(col, type=field.type, from_pandas=True))
    return pa.Table.from_arrays(arrays, schema=schema)
