"""Release keys and secret files: nothing in a release regenerates its pseudonyms or noise; same key and
seed, same bytes; secrets are 0600 files beside the release, written all or nothing."""

from __future__ import annotations

import fnmatch
import json
import os
import stat
from pathlib import Path

import numpy as np
import pytest

import synthetic
from reidcheck.anonymize import Release, apply_strategies
from reidcheck.anonymize.release import KEY_SUFFIX, TRUTH_SUFFIX, key_sidecar, truth_sidecar
from reidcheck.cli import main
from reidcheck.errors import UsageError
from reidcheck.secrets import (MIN_KEY_BYTES, ReleaseKey, key_from_seed, new_key, read_key_file, write_secret)

REPO = Path(__file__).resolve().parents[1]
SEED = 424242                       # distinctive, so that it can be looked for in release.json
CHAINS = {
    "token": ["generalize-time:bin=1h"],
    "rotate": ["rotate:period=day"],
    "hmac": ["hmac:key=s3cret-hmac-text", "generalize-qi:age=10"],
    "noise": ["geo-noise:epsilon=1", "jitter:minutes=30", "subsample:records=0.7"],
    "users": ["subsample:users=0.5"],
    "aggregate": ["generalize-space:level=district", "aggregate:bin=1h,min_count=0,epsilon=1,max_cells=4"],
}


@pytest.fixture(scope="module")
def base() -> Release:
    return Release.from_population(synthetic.generate(subscribers=300, days=2, seed=1))


def _pids(pub) -> set:
    return set(pub.truth["pid"])


def _mode(p: Path) -> int:
    return stat.S_IMODE(os.stat(p).st_mode)


def _keys_of(doc) -> set:
    if isinstance(doc, dict):
        return set(doc) | set().union(*(_keys_of(v) for v in doc.values()))
    if isinstance(doc, list):
        return set().union(set(), *(_keys_of(v) for v in doc))
    return set()


# -- the key ----------------------------------------------------------------------------------------
def test_new_keys_are_256_bit_and_never_shown():
    a, b = new_key(), new_key()
    assert len(a) == len(b) == 32 and a != b
    key = ReleaseKey(a, "fresh")
    assert a.hex() not in repr(key) and repr(a) not in repr(key) and "fresh" in repr(key)
    assert key_from_seed(5) == key_from_seed(5) != key_from_seed(6) and key_from_seed(5).derived_from_seed
    with pytest.raises(UsageError):
        ReleaseKey(b"short")


def test_key_files_hex_or_raw(tmp_path):
    raw = bytes(range(40))
    (tmp_path / "raw").write_bytes(raw)
    (tmp_path / "hex").write_text(raw.hex() + "\n")
    assert read_key_file(tmp_path / "raw") == read_key_file(tmp_path / "hex") == raw
    (tmp_path / "short").write_bytes(b"x" * (MIN_KEY_BYTES - 1))
    (tmp_path / "shorthex").write_text("ab" * (MIN_KEY_BYTES - 1))
    for name in ("short", "shorthex", "missing"):
        with pytest.raises(UsageError, match=name) as err:
            read_key_file(tmp_path / name)
        assert "\n" not in str(err.value)


def test_tokens_depend_on_the_subscriber_alone():
    key = ReleaseKey(bytes(range(32)))
    ids = np.array([5, 17, 3, 99, 42], dtype=np.int64)
    t = key.tokens("token", 1, ids)
    assert len(set(t)) == len(ids) and all(len(x) == 16 for x in t)
    assert list(key.tokens("token", 1, ids[::-1])[::-1]) == list(t)          # order plays no part
    assert list(key.tokens("token", 1, ids[1:3])) == list(t[1:3])            # nor who else is released
    assert not set(key.tokens("token", 2, ids)) & set(t)                      # a new seed: new tokens
    assert not set(key.tokens("rotate/day", 1, ids)) & set(t)                # a new purpose: new tokens


# -- the release ------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(CHAINS))
def test_manifest_carries_no_seed_and_no_key(base, tmp_path, name):
    key = ReleaseKey.fresh()
    rel = apply_strategies(base, CHAINS[name], seed=SEED, key=key)
    out = tmp_path / "rel"
    rel.publish().write(out)
    text = (out / "release.json").read_text()
    doc = json.loads(text)
    assert "seed" not in _keys_of(doc) and str(SEED) not in text
    assert key.hex() not in text and doc["key"] == "secret (not in the release)"
    assert "s3cret-hmac-text" not in text and not any("s3cret" in s for s in rel.steps)
    derive = key.derive("hmac")
    for f in out.iterdir():                      # no file of the release holds the key, or the HMAC key
        data = f.read_bytes()
        for secret in (key.material, key.hex().encode(), derive, derive.hex().encode(), b"s3cret-hmac-text"):
            assert secret not in data, f.name
    seeded = apply_strategies(base, CHAINS[name], seed=SEED, key=key_from_seed(SEED)).publish()
    assert seeded.manifest["key"].startswith("derived from the seed") and "seed" not in _keys_of(
        {k: v for k, v in seeded.manifest.items() if k != "key"})


def test_same_key_and_seed_give_the_same_directory_bytes(base, tmp_path):
    chain = ["generalize-time:bin=1h", "jitter:minutes=5", "subsample:users=0.7", "generalize-qi:age=10", "rotate"]
    key = ReleaseKey(new_key(), "file")
    dirs = []
    for i, (k, seed) in enumerate(((key, 3), (key, 3), (key, 4), (ReleaseKey.fresh(), 3))):
        out = tmp_path / f"r{i}"
        apply_strategies(base, chain, seed=seed, key=k).publish().write(out)
        dirs.append({f.name: f.read_bytes() for f in sorted(out.iterdir())}
                    | {"truth": truth_sidecar(out).read_bytes()})
    assert set(dirs[0]) == {"cdr.parquet", "cells.parquet", "release.json", "subscribers.parquet",
                            "travel.parquet", "truth"}
    assert dirs[0] == dirs[1]
    assert dirs[0]["cdr.parquet"] != dirs[2]["cdr.parquet"] != dirs[3]["cdr.parquet"]
    manifests = [{k: v for k, v in json.loads(d["release.json"]).items() if k != "rows"} for d in dirs]
    assert manifests[0] == manifests[2] == manifests[3]                 # neither the seed nor the key is in it


def test_same_seed_fresh_keys_share_nothing(base):
    def twice(chain):
        return [apply_strategies(base, chain, seed=SEED) for _ in range(2)]   # key=None: a fresh key each

    for chain in (CHAINS["token"], CHAINS["rotate"], ["hmac"]):
        a, b = (r.publish() for r in twice(chain))
        assert a.key != b.key and a.key.provenance == "fresh"
        assert len(_pids(a)) > 300 - 1 and not _pids(a) & _pids(b), chain
    a, b = twice(["geo-noise:epsilon=1"])
    assert (a.events["lat"].to_numpy() != b.events["lat"].to_numpy()).all()
    a, b = twice(["jitter:minutes=30"])
    assert (a.events["timestamp"].to_numpy() == b.events["timestamp"].to_numpy()).mean() < 0.01
    a, b = twice(["subsample:records=0.5"])
    assert not np.array_equal(a.events["_row"].to_numpy(), b.events["_row"].to_numpy())
    a, b = twice(["subsample:users=0.5"])
    assert set(a.qi["subscriber_id"]) != set(b.qi["subscriber_id"])
    a, b = twice(CHAINS["aggregate"])
    assert not a.presence.equals(b.presence)


def test_the_seed_alone_reproduces_nothing(base):
    """What the earlier code drew from SeedSequence(seed) — tokens, the default HMAC key, jitter —
    has nothing in common with a release made with a fresh key."""
    import hashlib
    import hmac

    from reidcheck.numbering import written

    ids = np.sort(base.subscribers["subscriber_id"].to_numpy(np.int64))
    old = np.random.default_rng(np.random.SeedSequence(SEED, spawn_key=(101,)))
    old_tokens = {f"{v:016x}" for v in old.integers(0, 2**63, size=len(ids), dtype=np.int64).tolist()}
    old_key = np.random.SeedSequence(SEED, spawn_key=(102,)).generate_state(8, dtype=np.uint32).tobytes()
    numbers = base.subscribers.set_index("subscriber_id")["msisdn"]
    old_hmac = {hmac.new(old_key, written(numbers[u], "e164").encode(), hashlib.sha256).hexdigest() for u in ids}
    assert not _pids(apply_strategies(base, ["token"], seed=SEED).publish()) & old_tokens
    assert not _pids(apply_strategies(base, ["hmac"], seed=SEED).publish()) & old_hmac
    old_jitter = np.random.default_rng(np.random.SeedSequence(SEED, spawn_key=(211, 0))).integers(
        -1800, 1801, len(base.events))
    new = apply_strategies(base, ["jitter:minutes=30"], seed=SEED).events["timestamp"].to_numpy()
    assert (new - base.events["timestamp"].to_numpy() == old_jitter).mean() < 0.01


def test_hmac_with_one_key_is_stable_across_releases_tokens_are_not(base):
    key = ReleaseKey(new_key(), "file")
    a = apply_strategies(base, ["hmac"], seed=1, key=key).publish()
    b = apply_strategies(base, ["generalize-space:level=district", "hmac"], seed=2, key=key).publish()
    assert _pids(a) == _pids(b)                         # stable pseudonyms: the two releases are linkable
    c = apply_strategies(base, ["hmac"], seed=1).publish()
    assert not _pids(a) & _pids(c)                      # another release key: unrelated pseudonyms
    d, e = (apply_strategies(base, ["hmac:key=one-text"], seed=1).publish() for _ in range(2))
    assert _pids(d) == _pids(e)                         # an explicit HMAC key wins over the release key
    t1, t2 = (apply_strategies(base, ["token"], seed=1).publish() for _ in range(2))
    assert not _pids(t1) & _pids(t2)


def test_publish_keeps_the_key_and_seed_of_the_strategies(base):
    rel = apply_strategies(base, ["jitter:minutes=1"], seed=3, key=ReleaseKey(new_key()))
    assert rel.publish(seed=3).key == rel.key
    with pytest.raises(UsageError, match="seed"):
        rel.publish(seed=4)
    with pytest.raises(UsageError, match="another key"):
        rel.publish(key=new_key())
    with pytest.raises(UsageError, match="seed"):
        apply_strategies(base, [], seed=-1)


# -- secret files -----------------------------------------------------------------------------------
def test_secret_sidecars_are_0600_beside_the_release(base, tmp_path):
    pub = apply_strategies(base, ["hmac"], seed=1).publish()
    out = tmp_path / "rel"
    truth = pub.write(out)
    key_path = key_sidecar(out)
    assert truth == tmp_path / ("rel" + TRUTH_SUFFIX) and key_path == tmp_path / ("rel" + KEY_SUFFIX)
    for p in (truth, key_path):
        assert p.parent == out.parent and _mode(p) == 0o600
    assert read_key_file(key_path) == pub.key.material
    inside = list(out.iterdir())
    assert inside and not any("SECRET" in p.name for p in inside)
    umask = os.umask(0)
    os.umask(umask)
    assert all(_mode(p) == 0o666 & ~umask for p in inside)       # the release's files are ordinary files
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["rel", truth.name, key_path.name])
    # a key given by the user is not copied; an earlier sidecar is not silently replaced
    given = apply_strategies(base, ["hmac"], seed=1, key=ReleaseKey(new_key(), "file")).publish()
    given.write(tmp_path / "mine")
    assert truth_sidecar(tmp_path / "mine").is_file() and not key_sidecar(tmp_path / "mine").exists()
    (tmp_path / "again").mkdir()
    with pytest.raises(UsageError, match="already exists"):
        pub.write(tmp_path / "again", truth_path=truth)


def test_a_symlink_at_a_sidecar_is_refused_and_nothing_is_left(base, tmp_path):
    pub = apply_strategies(base, ["token"], seed=1).publish()
    out = tmp_path / "rel"
    target = tmp_path / "elsewhere"
    key_sidecar(out).symlink_to(target)
    with pytest.raises(UsageError, match="symbolic link"):
        pub.write(out)
    assert not out.exists() and not truth_sidecar(out).exists() and not target.exists()
    with pytest.raises(UsageError, match="symbolic link"):
        write_secret(key_sidecar(out), b"x" * 32)
    assert not target.exists()


def test_the_write_is_all_or_nothing(base, tmp_path, monkeypatch):
    pub = apply_strategies(base, ["token"], seed=1).publish()
    out = tmp_path / "rel"
    real = os.replace

    def failing(src, dst):
        if Path(dst) == out:
            raise OSError(28, "No space left on device")
        return real(src, dst)

    monkeypatch.setattr(os, "replace", failing)
    with pytest.raises(OSError):
        pub.write(out)
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []             # no release, no sidecar, no temporary file


def test_write_secret_is_0600_and_atomic(tmp_path):
    p = write_secret(tmp_path / "sub" / "k.KEY-SECRET", b"abc")
    assert p.read_bytes() == b"abc" and _mode(p) == 0o600
    write_secret(p, lambda f: f.write(b"def"))
    assert p.read_bytes() == b"def" and _mode(p) == 0o600 and len(list(p.parent.iterdir())) == 1


def test_gitignore_covers_the_sidecars():
    patterns = [line.strip() for line in (REPO / ".gitignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    for name in ("rel" + TRUTH_SUFFIX, "rel" + KEY_SUFFIX, "rel.TRUTH-MAP-SECRET.csv"):
        assert any(fnmatch.fnmatch(name, p) for p in patterns), name


# -- the command line ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def population(tmp_path_factory):
    out = tmp_path_factory.mktemp("pop") / "pop"
    assert main(["generate", "-n", "300", "-d", "2", "--seed", "1", "--out", str(out), "-q"]) == 0
    return out


def test_cli_fresh_key_then_key_file_reproduces(population, tmp_path, capsys):
    chain = ["-s", "geo-noise:epsilon=1", "-s", "rotate"]
    capsys.readouterr()
    assert main(["anonymize", str(population), *chain, "--seed", "5", "--out", str(tmp_path / "a")]) == 0
    printed = capsys.readouterr().out
    key_path = key_sidecar(tmp_path / "a")
    key_hex = read_key_file(key_path).hex()
    assert "KEY-SECRET" in printed.replace("\n", "") and key_hex not in printed.replace("\n", "")
    assert _mode(key_path) == 0o600 and _mode(truth_sidecar(tmp_path / "a")) == 0o600
    assert main(["anonymize", str(population), *chain, "--seed", "5", "--out", str(tmp_path / "b"),
                 "--key-file", str(key_path), "-q"]) == 0
    assert not key_sidecar(tmp_path / "b").exists()
    for f in ("cdr.parquet", "release.json"):
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes()
    assert truth_sidecar(tmp_path / "a").read_bytes() == truth_sidecar(tmp_path / "b").read_bytes()
    assert main(["anonymize", str(population), *chain, "--seed", "5", "--out", str(tmp_path / "c"), "-q"]) == 0
    assert (tmp_path / "a" / "cdr.parquet").read_bytes() != (tmp_path / "c" / "cdr.parquet").read_bytes()


@pytest.mark.parametrize("content", [None, b"0123456789", b""])
def test_cli_bad_key_file_is_one_line(population, tmp_path, capsys, monkeypatch, content):
    path = tmp_path / "my.key"
    if content is not None:
        path.write_bytes(content)
    for args, env in ((["--key-file", str(path)], None), ([], str(path))):
        if env:
            monkeypatch.setenv("REIDCHECK_KEY_FILE", env)
        capsys.readouterr()
        rc = main(["anonymize", str(population), "-s", "token", "--out", str(tmp_path / "rel"), "-q", *args])
        err = capsys.readouterr().err
        assert rc == 2 and err.count("\n") == 1 and "my.key" in err and "Traceback" not in err
        assert not (tmp_path / "rel").exists() and not truth_sidecar(tmp_path / "rel").exists()
