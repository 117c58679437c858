"""``reidcheck attack NAME``: one attack on one input, its result as JSON or a terminal table."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from ..errors import InputError, UsageError

from .app import app
from .common import _emit, _guard, _output_file, _seed


attack_app = typer.Typer(no_args_is_help=True, help="Run one re-identification attack and report its result.")
app.add_typer(attack_app, name="attack")

_INPUT_HELP = "A population directory (uses its cdr table and cells) or a CSV/Parquet file."
_MAPPING_HELP = ("Columns of a non-canonical file: user=COL,time=COL and place=COL or lat=COL,lon=COL "
                 "[,time_unit=s|ms|us]; or a preset: gowalla.")


def _load(engine_name: str, input_path: Path, mapping: Optional[str], table: str, cells: Optional[Path],
          utc_offset: Optional[float]):
    from ..engine import get_engine
    from ..io import load_trajectories

    engine = get_engine(engine_name)
    inp = load_trajectories(engine, input_path, mapping, table=table, cells=cells, utc_offset_h=utc_offset)
    return engine, inp


def _attack_once(attack, input_path, mapping, table, cells, utc_offset, engine, json_path, quiet) -> None:
    """Validate ``attack``, load the input, run, and emit the result."""
    attack.validate()
    eng, inp = _guard(lambda: _load(engine, input_path, mapping, table, cells, utc_offset))
    _emit([_guard(lambda: attack.run(eng, inp))], json_path, quiet)


_common = {
    "mapping": typer.Option(None, "--mapping", help=_MAPPING_HELP),
    "table": typer.Option("cdr", "--table", help="Table of a population directory: cdr or pings."),
    "cells": typer.Option(None, "--cells", help="Cells table (cell_id, lat, lon[, site_id, district, province])."),
    "utc_offset": typer.Option(None, "--utc-offset", help="Local time = UTC + this many hours "
                                                         "(default: 5 for generated populations, else 0)."),
    "json": typer.Option(None, "--json", help="Write the JSON result to PATH, or to stdout with '-'.",
                         callback=_output_file),
    "engine": typer.Option("duckdb", "--engine", help="Engine: duckdb, or spark (pip install -e '.\\[spark]'; master from --spark-master)."),
    "quiet": typer.Option(False, "--quiet", "-q", help="No terminal table and no progress bar."),
}


@attack_app.command("unicity")
def attack_unicity(
    input_path: Path = typer.Argument(..., metavar="INPUT", help=_INPUT_HELP),
    points: int = typer.Option(4, "--points", "-p", help="Points the adversary knows (1-10)."),
    time_bin: str = typer.Option("1h", "--time-bin", help="15min, 1h, 4h, 1d, 1w or how (hour of week)."),
    space: str = typer.Option("cell", "--space", help="cell, site, district, province or grid:<size>."),
    targets: str = typer.Option("10000", "--targets", help="Number of targets, or all."),
    seed: int = typer.Option(0, "--seed", callback=_seed, help="Seed of every random draw (targets, samples)."),
    time_tolerance: int = typer.Option(0, "--time-tolerance", help="Adversary knows times within ± bins."),
    space_tolerance_km: float = typer.Option(0.0, "--space-tolerance-km", help="... and places within km."),
    mapping: Optional[str] = _common["mapping"], table: str = _common["table"],
    cells: Optional[Path] = _common["cells"], utc_offset: Optional[float] = _common["utc_offset"],
    json_path: Optional[str] = _common["json"], engine: str = _common["engine"], quiet: bool = _common["quiet"],
) -> None:
    """de Montjoye unicity: share of targets singled out by POINTS known (time bin, place) points."""
    from ..attacks import Unicity

    attack = Unicity(points=points, time_bin=time_bin, space=space, targets=targets, seed=seed,
                     time_tolerance=time_tolerance, space_tolerance_km=space_tolerance_km)
    _attack_once(attack, input_path, mapping, table, cells, utc_offset, engine, json_path, quiet)


@attack_app.command("unicity-curve")
def attack_unicity_curve(
    input_path: Path = typer.Argument(..., metavar="INPUT", help=_INPUT_HELP),
    max_points: int = typer.Option(5, "--max-points", help="ε_p for p = 1..this."),
    resolution: list[str] = typer.Option(["1h,cell"], "--resolution", metavar="BIN,SPACE",
                                         help="TIME_BIN,SPACE; repeat for several (e.g. --resolution 1d,district)."),
    targets: str = typer.Option("10000", "--targets", help="Number of targets, or all."),
    seed: int = typer.Option(0, "--seed", callback=_seed, help="Seed of every random draw (targets, samples)."),
    mapping: Optional[str] = _common["mapping"], table: str = _common["table"],
    cells: Optional[Path] = _common["cells"], utc_offset: Optional[float] = _common["utc_offset"],
    json_path: Optional[str] = _common["json"], engine: str = _common["engine"], quiet: bool = _common["quiet"],
) -> None:
    """Unicity ε_p for p = 1..MAX_POINTS at several resolutions, reusing one index per resolution."""
    from ..attacks import UnicityCurve
    from .common import _progress

    pairs = []
    for r in resolution:
        tb, _, sp = r.partition(",")
        if not sp:
            raise UsageError(f"Option `--resolution` must be TIME_BIN,SPACE (e.g. 1h,cell). Got {r!r} instead.")
        pairs.append((tb.strip(), sp.strip()))
    attack = UnicityCurve(max_points=max_points, resolutions=tuple(pairs), targets=targets, seed=seed)
    attack.validate()
    with _progress(len(pairs) * max_points, "reading the input", quiet or json_path == "-") as bar:
        eng, inp = _guard(lambda: _load(engine, input_path, mapping, table, cells, utc_offset))
        results = _guard(lambda: attack.run(eng, inp, progress=bar.update if bar.active else None))
    _emit(results, json_path, quiet)


@attack_app.command("topn")
def attack_topn(
    input_path: Path = typer.Argument(..., metavar="INPUT", help=_INPUT_HELP),
    n: int = typer.Option(2, "--n", help="Top-N places (1-3)."),
    space: str = typer.Option("cell", "--space", help="cell, site, district, province or grid:<size>."),
    ordered: bool = typer.Option(False, "--ordered", help="Compare the ranked tuple instead of the set."),
    mapping: Optional[str] = _common["mapping"], table: str = _common["table"],
    cells: Optional[Path] = _common["cells"], utc_offset: Optional[float] = _common["utc_offset"],
    json_path: Optional[str] = _common["json"], engine: str = _common["engine"], quiet: bool = _common["quiet"],
) -> None:
    """Zang & Bolot: anonymity sets of each user's top-N places."""
    from ..attacks import TopN

    attack = TopN(n=n, space=space, ordered=ordered)
    _attack_once(attack, input_path, mapping, table, cells, utc_offset, engine, json_path, quiet)


@attack_app.command("homework")
def attack_homework(
    input_path: Path = typer.Argument(..., metavar="INPUT", help=_INPUT_HELP),
    space: str = typer.Option("cell", "--space", help="cell, site, district, province or grid:<size>."),
    workdays: str = typer.Option("0-4", "--workdays", help="Workdays, Monday = 0 (e.g. 0-4, 0-5)."),
    mapping: Optional[str] = _common["mapping"], table: str = _common["table"],
    cells: Optional[Path] = _common["cells"], utc_offset: Optional[float] = _common["utc_offset"],
    json_path: Optional[str] = _common["json"], engine: str = _common["engine"], quiet: bool = _common["quiet"],
) -> None:
    """Golle & Partridge: anonymity set of each user's (home, work) pair."""
    from ..attacks import HomeWork

    attack = HomeWork(space=space, workdays=workdays)
    _attack_once(attack, input_path, mapping, table, cells, utc_offset, engine, json_path, quiet)


def _table_check(attack, input_path: Path, delimiter: Optional[str], engine: str, json_path, quiet) -> None:
    from ..attacks.inputs import TableInput
    from ..engine import get_engine
    from ..io import load_table

    attack.validate()
    eng = get_engine(engine)
    info = _guard(lambda: load_table(eng, input_path, delimiter=delimiter))
    _emit([_guard(lambda: attack.run(eng, TableInput.loaded(info, "tbl")))], json_path, quiet)


_QI = typer.Option(..., "--qi", help="Quasi-identifier columns, comma-separated.")
_SENSITIVE = typer.Option(..., "--sensitive", help="The sensitive attribute's column.")
_DELIM = typer.Option(None, "--delimiter", help="CSV delimiter (detected when omitted).")


@attack_app.command("kanon")
def attack_kanon(
    input_path: Path = typer.Argument(..., metavar="INPUT", help="A CSV or Parquet table."),
    qi: str = _QI, k: int = typer.Option(5, "--k", help="Classes smaller than this count as violations."),
    delimiter: Optional[str] = _DELIM, json_path: Optional[str] = _common["json"],
    engine: str = _common["engine"], quiet: bool = _common["quiet"],
) -> None:
    """k-anonymity: smallest equivalence class, records below k, prosecutor/journalist/marketer risk."""
    from ..attacks.tabular import KAnonymity

    _table_check(KAnonymity(qi=qi, k=k), input_path, delimiter, engine, json_path, quiet)


@attack_app.command("ldiv")
def attack_ldiv(
    input_path: Path = typer.Argument(..., metavar="INPUT", help="A CSV or Parquet table."),
    qi: str = _QI, sensitive: str = _SENSITIVE,
    l_value: float = typer.Option(2, "--l", help="Classes below this l count as violations."),
    variant: str = typer.Option("distinct", "--variant", help="distinct, entropy or recursive."),
    c: float = typer.Option(2.0, "--c", help="c of recursive (c, l)-diversity."),
    delimiter: Optional[str] = _DELIM, json_path: Optional[str] = _common["json"],
    engine: str = _common["engine"], quiet: bool = _common["quiet"],
) -> None:
    """l-diversity of the sensitive attribute within each equivalence class."""
    from ..attacks.tabular import LDiversity

    _table_check(LDiversity(qi=qi, sensitive=sensitive, l=l_value, variant=variant, c=c), input_path, delimiter,
                 engine, json_path, quiet)


@attack_app.command("tclose")
def attack_tclose(
    input_path: Path = typer.Argument(..., metavar="INPUT", help="A CSV or Parquet table."),
    qi: str = _QI, sensitive: str = _SENSITIVE,
    t: float = typer.Option(0.2, "--t", help="Classes farther than this count as violations."),
    ordered: Optional[bool] = typer.Option(None, "--ordered/--categorical",
                                           help="Ordered EMD or equal distance (default: ordered if numeric)."),
    delimiter: Optional[str] = _DELIM, json_path: Optional[str] = _common["json"],
    engine: str = _common["engine"], quiet: bool = _common["quiet"],
) -> None:
    """t-closeness: distance of each class's sensitive distribution from the table's."""
    from ..attacks.tabular import TCloseness

    _table_check(TCloseness(qi=qi, sensitive=sensitive, t=t, ordered=ordered), input_path, delimiter, engine,
                 json_path, quiet)


@attack_app.command("risk")
def attack_risk(
    input_path: Path = typer.Argument(..., metavar="INPUT", help="A CSV or Parquet table (a sample)."),
    qi: str = _QI,
    sampling_fraction: float = typer.Option(1.0, "--sampling-fraction", help="Sample size / population size."),
    delimiter: Optional[str] = _DELIM, json_path: Optional[str] = _common["json"],
    engine: str = _common["engine"], quiet: bool = _common["quiet"],
) -> None:
    """Population uniqueness (Zayatz, Pitman, SNB; Dankar's rule) and prosecutor risk."""
    from ..attacks.tabular import PopulationRisk

    _table_check(PopulationRisk(qi=qi, sampling_fraction=sampling_fraction), input_path, delimiter, engine,
                 json_path, quiet)


@attack_app.command("hash-reversal")
def attack_hash_reversal(
    input_path: Path = typer.Argument(..., metavar="INPUT", help="A CSV or Parquet table with pseudonyms."),
    column: str = typer.Option(..., "--column", help="The pseudonym column."),
    kind: str = typer.Option("msisdn", "--kind",
                             help="What was hashed: msisdn (--prefixes), cnic (--heads), imsi (--plmn) or imei (--tac)."),
    prefixes: str = typer.Option("300-309,320-329", "--prefixes",
                                 help="Mobile prefixes to enumerate (msisdn): list or ranges (default: Jazz's)."),
    heads: Optional[str] = typer.Option(None, "--heads", help="CNIC 5-digit heads to enumerate, e.g. 35202,35201."),
    plmn: Optional[str] = typer.Option(None, "--plmn", metavar="MCCMNC",
                                       help="IMSI networks, MCC + MNC: e.g. 41001,41006 (Jazz, Telenor)."),
    tac: Optional[str] = typer.Option(None, "--tac", metavar="TAC",
                                      help="IMEI type allocation codes (8 digits), comma-separated."),
    serials: Optional[str] = typer.Option(None, "--serials", metavar="LO-HI",
                                          help="Serial range (inclusive) within each prefix, head, PLMN or TAC "
                                               "(default: all of them: 10^7 numbers, 10^7 CNIC serials, the "
                                               "MSIN's 10^10, 10^6 IMEI serials)."),
    forms: Optional[str] = typer.Option(None, "--forms",
                                        help="Written forms: e164,intl,national (msisdn), dashed,plain (cnic), "
                                             "digits (imsi), luhn,body (imei: with or without the check digit)."),
    algorithm: Optional[str] = typer.Option(None, "--algorithm",
                                            help="md5, sha1 or sha256 (default: from the digest's length). Needed "
                                                 "for truncated digests (16 hex digits or more), matched by prefix."),
    salt_prefix: str = typer.Option("", "--salt-prefix", metavar="TEXT",
                                    help="A known constant salt hashed before the identifier."),
    salt_suffix: str = typer.Option("", "--salt-suffix", metavar="TEXT",
                                    help="A known constant salt hashed after the identifier."),
    time_limit: Optional[float] = typer.Option(None, "--time-limit", metavar="SECONDS",
                                               help="Stop after this long; the result extrapolates the time for "
                                                    "the whole space."),
    workers: Optional[int] = typer.Option(None, "--workers", help="Threads (default: one per core)."),
    reveal: bool = typer.Option(False, "--reveal", help="Put the reversed values in the JSON (personal data!)."),
    compare: Optional[Path] = typer.Option(None, "--compare",
                                           help="A second release (same column): are pseudonyms stable across them?"),
    delimiter: Optional[str] = _DELIM, json_path: Optional[str] = _common["json"],
    engine: str = _common["engine"], quiet: bool = _common["quiet"],
) -> None:
    """Reverse hashed identifiers by enumerating their space: phone numbers, CNICs of given areas, IMSIs
    of given networks, IMEIs of given device types; MD5, SHA-1 or SHA-256, full or truncated, with an
    optional known salt."""
    import warnings

    from ..attacks.inputs import PseudonymInput
    from ..attacks.pseudonyms import HashReversal
    from ..attacks.validation import items, parse_ranges
    from ..engine import get_engine
    from ..errors import PrivacyLeakWarning
    from ..io import load_pseudonyms

    lo_hi = parse_ranges(serials, "serials", 10 ** 10 - 1) if serials else None
    if lo_hi is not None and len(lo_hi) != 1:
        raise UsageError("Option `--serials` takes one range LO-HI.")
    pfx = sorted({p for lo, hi in parse_ranges(prefixes, "prefixes", 999) for p in range(lo, hi + 1)})
    attack = HashReversal(prefixes=tuple(pfx) if kind == "msisdn" else (), kind=kind, heads=items(heads),
                          plmns=items(plmn), tacs=items(tac), forms=items(forms) or None,
                          serial_lo=lo_hi[0][0] if lo_hi else 0, serial_hi=lo_hi[0][1] + 1 if lo_hi else None,
                          algorithm=algorithm.lower() if algorithm else None, salt_prefix=salt_prefix,
                          salt_suffix=salt_suffix, time_limit=time_limit, workers=workers, reveal=reveal)
    attack.validate()
    eng = get_engine(engine)
    values = _guard(lambda: load_pseudonyms(eng, input_path, column, delimiter=delimiter))
    # the second release is read before the enumeration, so a bad file or column fails before any work
    again = _guard(lambda: load_pseudonyms(eng, compare, column, delimiter=delimiter)) if compare else None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PrivacyLeakWarning)
        result = attack.run(eng, PseudonymInput.of(values, source=str(input_path)))
    leaks = [str(w.message) for w in caught if issubclass(w.category, PrivacyLeakWarning)]
    for w in caught:
        if not issubclass(w.category, PrivacyLeakWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if compare is not None:
        from dataclasses import replace

        from ..attacks.pseudonyms import linkability

        link = linkability(values, again)
        result = replace(result, extra={**result.extra, "linkability": link})
    _emit([result], json_path, quiet)
    for message in leaks:   # once the output is written: one line on stderr, never a traceback
        print(f"reidcheck: warning: {message}", file=sys.stderr)


@attack_app.command("linkage")
def attack_linkage(
    input_path: Path = typer.Argument(..., metavar="INPUT", help="The release: a CSV or Parquet table."),
    auxiliary: Path = typer.Option(..., "--auxiliary", help="The outsider's table (identities + shared QIs)."),
    qi: str = _QI,
    release_id: str = typer.Option("pid", "--release-id", help="The release's pseudonym column."),
    target_id: str = typer.Option("subscriber_id", "--target-id", help="The auxiliary table's identity column."),
    truth: Optional[Path] = typer.Option(None, "--truth", metavar="TRUTH",
                                         help="Truth map to score correctness: what `anonymize` writes "
                                              "(pid, subscriber_id, table), or any table with pid and uid."),
    delimiter: Optional[str] = _DELIM, json_path: Optional[str] = _common["json"],
    engine: str = _common["engine"], quiet: bool = _common["quiet"],
) -> None:
    """Link an auxiliary table to a release on shared QIs (ranges and * in the release are honoured)."""
    from ..attacks.linkage import Linkage
    from ..engine import get_engine
    from ..io import load_frame, load_truth

    attack = Linkage(qi=qi, release_id=release_id, target_id=target_id)
    attack.validate()
    eng = get_engine(engine)
    rel = _guard(lambda: load_frame(eng, input_path, delimiter=delimiter))
    aux = _guard(lambda: load_frame(eng, auxiliary, delimiter=delimiter))
    tr = _guard(lambda: load_truth(eng, truth, table="subscribers", delimiter=delimiter)) if truth else None
    _emit([_guard(lambda: attack.run(eng, rel, knowledge=aux, truth=tr))], json_path, quiet)


@attack_app.command("travel")
def attack_travel(
    input_path: Path = typer.Argument(..., metavar="INPUT",
                                      help="Trips (columns pid, country, month) or a population directory."),
    known_trips: int = typer.Option(1, "--known-trips", help="Trips the adversary knows (1-10)."),
    targets: str = typer.Option("all", "--targets", help="Number of targets, or all."),
    seed: int = typer.Option(0, "--seed", callback=_seed, help="Seed of every random draw (targets, samples)."),
    delimiter: Optional[str] = _DELIM, json_path: Optional[str] = _common["json"],
    engine: str = _common["engine"], quiet: bool = _common["quiet"],
) -> None:
    """Uniqueness of travellers given some of their trips (country, month)."""
    from ..attacks import TravelLinkage
    from ..engine import get_engine
    from ..io import load_trips

    attack = TravelLinkage(known_trips=known_trips, targets=targets, seed=seed)
    attack.validate()
    eng = get_engine(engine)
    trips = _guard(lambda: load_trips(eng, input_path, delimiter=delimiter))
    result = _guard(lambda: attack.run(eng, trips))
    _emit([result], json_path, quiet)
    if result.n_targets == 0:   # after the output: one line, so a script sees why nothing was scored
        print(f"reidcheck: warning: no traveller has {known_trips} trip(s) to know, so nothing was scored "
              f"({result.n_skipped:,} skipped); try a smaller --known-trips.", file=sys.stderr)


@attack_app.command("profile")
def attack_profile(
    input_path: Path = typer.Argument(..., metavar="RELEASE",
                                      help="The release: a release directory (reidcheck anonymize) or a CSV/Parquet file."),
    knowledge: Optional[Path] = typer.Option(None, "--knowledge", metavar="SOURCE",
                                             help="The adversary's labelled traces of the true people: a population "
                                                  "directory or a CSV/Parquet file (see --knowledge-mapping)."),
    truth: Optional[Path] = typer.Option(None, "--truth", metavar="TRUTH",
                                         help="Truth map (pid, subscriber_id[, period]) such as the "
                                              "<release>.TRUTH-MAP-SECRET.parquet that anonymize writes; only scores."),
    knowledge_days: Optional[str] = typer.Option(None, "--knowledge-days", metavar="A..B",
                                                 help="Knowledge window: local days A to B (B excluded) from the "
                                                      "data's first day."),
    release_days: Optional[str] = typer.Option(None, "--release-days", metavar="C..D",
                                               help="Release window, likewise (e.g. 0..14 and 14..28: no overlap)."),
    knowledge_sample: Optional[float] = typer.Option(None, "--knowledge-sample", metavar="F",
                                                     help="The adversary knows a seeded random share F of each "
                                                          "person's records (0 < F ≤ 1)."),
    self_split: Optional[str] = typer.Option(None, "--self-split", metavar="DAYS",
                                             help="No outside knowledge: the release's first DAYS days are the "
                                                  "labelled knowledge, the rest is re-identified ('halves': cut "
                                                  "each pseudonym at the middle of its own span)."),
    self_sample: Optional[float] = typer.Option(None, "--self-sample", metavar="F",
                                                help="No outside knowledge: a seeded share F of each pseudonym's "
                                                     "records (0 < F < 1) is the labelled knowledge, the other "
                                                     "records are re-identified (a sample of the same period)."),
    seed: int = typer.Option(0, "--seed", callback=_seed, help="Seed of the knowledge sample."),
    detail: bool = typer.Option(False, "--detail",
                                help="Add one row per target to the JSON (pseudonyms and ids: record values)."),
    mapping: Optional[str] = _common["mapping"],
    knowledge_mapping: Optional[str] = typer.Option(None, "--knowledge-mapping",
                                                    help="Columns of a non-canonical knowledge file (like --mapping)."),
    cells: Optional[Path] = _common["cells"], utc_offset: Optional[float] = _common["utc_offset"],
    json_path: Optional[str] = _common["json"], engine: str = _common["engine"], quiet: bool = _common["quiet"],
) -> None:
    """Profile linkage: rank the people the adversary knows for every released pseudonym by behaviour
    (places × time of week, record kinds, volume, durations; counts per key on coarse releases);
    top-1, top-5 and one-to-one re-identification rates."""
    from ..attacks import ProfileLinkage
    from ..engine import get_engine
    from ..io import load_trajectories, load_truth

    split = None
    if self_split is not None:
        split = self_split if self_split == "halves" else (int(self_split) if self_split.isdigit() else self_split)
    own = self_split is not None or self_sample is not None
    if not own and (knowledge is None or truth is None):
        raise UsageError("Give --knowledge SOURCE and --truth TRUTH (the adversary's labelled traces and the map "
                         "that scores her), or --self-split DAYS or --self-sample F to use the release alone.")
    if own and (knowledge is not None or truth is not None):
        raise UsageError("--self-split and --self-sample use the release alone; they cannot be combined with "
                         "--knowledge or --truth.")
    attack = ProfileLinkage(knowledge_days=knowledge_days, release_days=release_days,
                            knowledge_sample=knowledge_sample, self_split=split, self_sample=self_sample, seed=seed,
                            detail=detail)
    attack.validate()
    eng = get_engine(engine)
    rel = _guard(lambda: load_trajectories(eng, input_path, mapping, cells=cells, utc_offset_h=utc_offset,
                                           relation="__release_events"))
    know = tr = None
    if knowledge is not None:
        know = _guard(lambda: load_trajectories(eng, knowledge, knowledge_mapping, utc_offset_h=utc_offset,
                                                relation="__knowledge_events"))
        tr = _guard(lambda: load_truth(eng, truth, table="cdr"))
    import warnings

    from ..attacks.profile import NoBetterThanChance

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", NoBetterThanChance)
        res = _guard(lambda: attack.run(eng, rel, knowledge=know, truth=tr))
    for w in caught:
        if issubclass(w.category, NoBetterThanChance):
            print(f"reidcheck: warning: {w.message}", file=sys.stderr)
    _emit([res], json_path, quiet)


@attack_app.command("callgraph")
def attack_callgraph(
    input_path: Path = typer.Argument(..., metavar="RELEASE",
                                      help="A CDR release with counterparts (anonymize -s token:counterparts="
                                           "pseudonymize): a release directory or a CSV/Parquet file."),
    knowledge: Optional[Path] = typer.Option(None, "--knowledge", metavar="POP",
                                             help="The adversary's labelled call records: a population directory "
                                                  "(or a file with subscriber_id, counterpart_msisdn, timestamp, "
                                                  "event_type, direction)."),
    truth: Optional[Path] = typer.Option(None, "--truth", metavar="TRUTH",
                                         help="Truth map (pid, subscriber_id) such as <release>.TRUTH-MAP-SECRET.parquet; "
                                              "only scores."),
    knowledge_days: Optional[str] = typer.Option(None, "--knowledge-days", metavar="A..B",
                                                 help="Knowledge window: local days A to B (B excluded) from the "
                                                      "data's first day."),
    release_days: Optional[str] = typer.Option(None, "--release-days", metavar="C..D",
                                               help="Release window, likewise (e.g. 0..14 and 14..28: no overlap)."),
    self_split: Optional[int] = typer.Option(None, "--self-split", metavar="DAYS",
                                             help="No outside knowledge: the release's first DAYS days are the "
                                                  "labelled graph, the rest is re-identified."),
    seed: int = typer.Option(0, "--seed", callback=_seed, help="Seed of every random draw (targets, samples)."),
    utc_offset: Optional[float] = _common["utc_offset"],
    json_path: Optional[str] = _common["json"], engine: str = _common["engine"], quiet: bool = _common["quiet"],
) -> None:
    """Call-graph linkage (Creţu et al. 2022): link the release's pseudonyms to the people of another
    period by their 1- and 2-hop contacts; top-1, top-5 and one-to-one re-identification rates."""
    from ..attacks import CallGraphLinkage
    from ..engine import get_engine
    from ..io import load_calls, load_truth

    if self_split is None and (knowledge is None or truth is None):
        raise UsageError("Give --knowledge POP and --truth TRUTH (the adversary's labelled call records and the map "
                         "that scores her), or --self-split DAYS to use the release alone.")
    if self_split is not None and (knowledge is not None or truth is not None):
        raise UsageError("--self-split uses the release alone; it cannot be combined with --knowledge or --truth.")
    attack = CallGraphLinkage(knowledge_days=knowledge_days, release_days=release_days, self_split=self_split,
                              seed=seed)
    attack.validate()
    eng = get_engine(engine)
    rel = _guard(lambda: load_calls(eng, input_path, utc_offset_h=utc_offset))
    know = tr = None
    if knowledge is not None:
        know = _guard(lambda: load_calls(eng, knowledge, utc_offset_h=utc_offset))
        tr = _guard(lambda: load_truth(eng, truth, table="cdr"))
    _emit([_guard(lambda: attack.run(eng, rel, knowledge=know, truth=tr))], json_path, quiet)


@attack_app.command("recovery")
def attack_recovery(
    input_path: Path = typer.Argument(..., metavar="AGG_RELEASE",
                                      help="An aggregate release directory (anonymize -s aggregate…): presence "
                                           "counts per place and time bin."),
    knowledge: Path = typer.Option(..., "--knowledge", metavar="POP",
                                   help="The true population directory: used only to score the recovered "
                                        "trajectories, never to recover them."),
    max_people: int = typer.Option(3000, "--max-people", metavar="N",
                                   help="Refuse populations larger than N (the scoring's one-to-one match is a "
                                        "dense recovered × people matrix)."),
    seed: int = typer.Option(0, "--seed", callback=_seed, help="Seed of the tie-breaks and the baseline's shuffles."),
    utc_offset: Optional[float] = _common["utc_offset"],
    json_path: Optional[str] = _common["json"], quiet: bool = _common["quiet"],
) -> None:
    """Trajectory recovery (Xu et al. 2017): rebuild individual trajectories from the counts alone
    (night: proximity; day: velocity; across days: regularity); accuracy against the truth, a
    no-continuity baseline, and how unique the recovered trajectories are."""
    from ..anonymize.release import Release
    from ..attacks import TrajectoryRecovery
    from ..engine import get_engine
    from ..io import load_aggregate, read_population

    attack = TrajectoryRecovery(max_people=max_people, seed=seed)
    attack.validate()
    eng = get_engine("duckdb")
    pop = _guard(lambda: read_population(knowledge))
    rel = _guard(lambda: load_aggregate(eng, input_path, pop.cells, utc_offset_h=utc_offset))
    orig = _guard(lambda: Release.from_population(pop))
    _emit([_guard(lambda: attack.run(eng, rel, knowledge=orig))], json_path, quiet)


@attack_app.command("membership")
def attack_membership(
    population: Path = typer.Argument(..., metavar="POP",
                                      help="The population directory whose people the aggregates are made of."),
    group_size: int = typer.Option(50, "--group-size", metavar="N", help="People in each aggregated group."),
    time_bin: str = typer.Option("1h", "--time-bin", metavar="B", help="Time bin of the aggregate (15min … 1w)."),
    space: str = typer.Option("cell", "--space", metavar="S",
                              help="Spatial level of the aggregate: cell, site, district, province or grid:<size>."),
    epsilon: Optional[float] = typer.Option(None, "--epsilon", metavar="E",
                                            help="DP budget of the aggregate (default: raw counts, no noise)."),
    mechanism: str = typer.Option("laplace", "--mechanism", help="DP noise: laplace or gaussian."),
    max_cells: int = typer.Option(24, "--max-cells", help="Cells per person kept by contribution bounding (with ε)."),
    min_count: int = typer.Option(0, "--min-count", help="Counts below this are suppressed (0: none)."),
    trials: int = typer.Option(200, "--trials", metavar="K", help="Games played (half with the target in the group)."),
    prior: str = typer.Option("population", "--prior",
                              help="What the adversary knows of where people are: population (its statistics) or "
                                   "aggregate (the released counts only, as ZK-MIA)."),
    release: Optional[Path] = typer.Option(None, "--release", metavar="AGG",
                                           help="Test this aggregate release instead of playing the game (needs "
                                                "--targets)."),
    targets: Optional[Path] = typer.Option(None, "--targets", metavar="LIST",
                                           help="With --release: a CSV/Parquet of subscriber_id and member (0/1)."),
    seed: int = typer.Option(0, "--seed", callback=_seed, help="Seed of every random draw (targets, samples)."),
    json_path: Optional[str] = _common["json"], quiet: bool = _common["quiet"],
) -> None:
    """Membership inference on aggregates (Pyrgelis et al. 2018): is the target among the people an
    aggregate counts? A likelihood-ratio adversary who knows the target's trace, the mechanism and
    population statistics, never the other members' traces; ROC AUC (chance 0.5) and advantage."""
    from ..anonymize.release import Release
    from ..attacks import MembershipInference
    from ..engine import get_engine
    from ..io import load_aggregate, load_frame, read_population

    if (release is None) != (targets is None):
        raise UsageError("--release AGG and --targets LIST go together (the aggregate to test and who is in it).")
    attack = MembershipInference(group_size=group_size, time_bin=time_bin, space=space, epsilon=epsilon,
                                 mechanism=mechanism, max_cells=max_cells, min_count=min_count, trials=trials,
                                 prior=prior, seed=seed)
    attack.validate()
    eng = get_engine("duckdb")
    pop = _guard(lambda: read_population(population))
    orig = _guard(lambda: Release.from_population(pop))
    if release is None:
        res = _guard(lambda: attack.run(eng, orig))
    else:
        agg = _guard(lambda: load_aggregate(eng, release, pop.cells))
        tl = _guard(lambda: load_frame(eng, targets))
        for c in ("subscriber_id", "member"):
            if c not in tl.columns:
                raise InputError(f"File '{targets}': column '{c}' not found; the target list needs subscriber_id "
                                 "and member (0/1).")
        tl = tl.assign(subscriber_id=lambda d: pd_to_int(d["subscriber_id"], targets))
        res = _guard(lambda: attack.run(eng, agg, knowledge=orig, truth=tl))
    _emit([res], json_path, quiet)


def pd_to_int(col, path):
    """A text column of ids as int64, or one InputError naming the file, column and first bad row."""
    import pandas as pd

    v = pd.to_numeric(col, errors="coerce")
    bad = v.isna() | (v != v.round())
    if bad.any():
        raise InputError(f"File '{path}', column 'subscriber_id', row {int(bad.to_numpy().argmax()) + 1}: not a "
                         "whole number.")
    return v.astype("int64")
