"""The HTML report: self-contained, deterministic, verdict first, masked; rendered by a real headless Chromium."""

from __future__ import annotations

import base64
import copy
import html as html_module
import io
import json
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from matplotlib import image as mpimg

from reidcheck.report.html import mask, render_html

EXAMPLE = Path(__file__).resolve().parents[1] / "data" / "audit_report_example.json"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def report() -> dict:
    return json.loads(EXAMPLE.read_text(encoding="utf-8"))


def _comparison() -> dict:
    def rate(v, lo, hi):
        return {"unique_rate": {"value": v, "ci": [lo, hi]}}

    return {"schema": "reidcheck-compare", "version": 1, "input": "synthetic", "seed": 7,
            "plan": {"source": "default plan", "points": 4, "targets": 5000, "reversal_budget": 2000000, "k": 5},
            "elapsed_s": 40.0, "releases": [
                {"name": "baseline", "attacks": {"unicity": rate(0.94, 0.93, 0.95)},
                 "utility": {"spatial_error_km": {"mean": 0.0, "p95": 0.0}}},
                {"name": "5 km grid", "attacks": {"unicity": rate(0.4, 0.38, 0.42)},
                 "utility": {"spatial_error_km": {"mean": 1.9, "p95": 3.4}}},
                {"name": "aggregate", "attacks": {"aggregate_exposure": rate(0.01, 0.005, 0.02)},
                 "utility": {"spatial_error_km": None}}]}


def _images(text: str) -> list[bytes]:
    return [base64.b64decode(m, validate=True)
            for m in re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', text)]


class _Text(HTMLParser):
    """The visible text of a page, and the text of each finding card (``<article>``)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.chunks, self.articles, self._depth, self._skip = [], [], 0, 0

    def handle_starttag(self, tag, attrs):
        if tag in ("style", "title"):
            self._skip += 1
        elif tag == "article":
            self._depth += 1
            self.articles.append("")

    def handle_endtag(self, tag):
        if tag in ("style", "title"):
            self._skip -= 1
        elif tag == "article":
            self._depth -= 1

    def handle_data(self, data):
        if self._skip:
            return
        self.chunks.append(data)
        if self._depth:
            self.articles[-1] += " " + data

    @classmethod
    def of(cls, markup: str) -> _Text:
        p = cls()
        p.feed(markup)
        p.close()
        p.text = " ".join(" ".join(p.chunks).split())
        p.articles = [" ".join(a.split()) for a in p.articles]
        return p


# -- unit --------------------------------------------------------------------------------------------------------
def test_example_renders_self_contained(report):
    out = render_html(report)
    assert out.startswith("<!DOCTYPE html>")
    assert '<html lang="en">' in out
    assert "<title>reidcheck audit: FAIL \N{EM DASH} releases/hash</title>" in out
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", out, re.I)
    assert not re.search(r"url\(\s*['\"]?\s*(?:https?:)?//", out, re.I)
    assert "<script" not in out.lower() and "<link" not in out.lower()


def test_verdict_comes_before_findings(report):
    out = render_html(report)
    banner = out.index('class="banner fail"')
    assert banner < out.index("<h1>FAIL</h1>") < out.index("What was found") < out.index("RC201")
    assert "3 of 5 checks failed: this export is not safe to release under the policy." in out


def test_every_finding_appears_failed_first(report):
    out = render_html(report)
    for f in report["findings"]:
        assert f["rule_id"] in out
        assert f'id="finding-{f["rule_id"]}-{f["table"]}"' in out
    cards = _Text.of(out).articles
    statuses = [c.split()[0] for c in cards]
    assert statuses == ["FAIL", "FAIL", "FAIL", "PASS", "NOT"]
    rc201 = next(c for c in cards if "RC201" in c)
    assert "94.1% (95% interval 93.6%\N{EN DASH}94.6%)" in rc201 and "at most 10%" in rc201
    assert "at least 5" in next(c for c in cards if "RC101" in c)


def test_headings_in_order_and_images_have_alt(report):
    out = render_html(report)
    levels = [int(h) for h in re.findall(r"<h([1-6])[\s>]", out)]
    assert levels[0] == 1 and levels.count(1) == 1
    assert all(b - a <= 1 for a, b in zip(levels, levels[1:]))
    imgs = re.findall(r"<img [^>]*>", out)
    assert imgs and all(re.search(r'alt="[^"]{10,}"', i) for i in imgs)


def test_images_are_embedded_pngs(report):
    report["comparison"] = _comparison()
    pngs = _images(render_html(report))
    assert len(pngs) == 4                          # curves, resolution, anonymity sets, privacy-utility
    for png in pngs:
        assert png.startswith(PNG_MAGIC)
        pixels = mpimg.imread(io.BytesIO(png), format="png")
        assert pixels.ndim == 3 and pixels.std() > 0


def test_deterministic(report):
    report["comparison"] = _comparison()
    assert render_html(report) == render_html(copy.deepcopy(report))


def test_absent_data_explains_skipped_charts(report):
    report.update(curves=[], anonymity_sets=[], comparison=None)
    out = render_html(report)
    assert _images(out) == []
    assert "the report holds no uniqueness curve (no trajectory table" in out
    assert "the report holds no uniqueness curve to compare resolutions with" in out
    assert "the report holds no anonymity-set histogram" in out
    assert "the report embeds no privacy\N{EN DASH}utility comparison" in out
    assert out.count('class="skipped"') == 4


def test_pass_verdict(report):
    report["verdict"] = "pass"
    report["summary"].update(passed=4, failed=0)
    out = render_html(report)
    assert 'class="banner pass"' in out and "<h1>PASS</h1>" in out
    assert "<title>reidcheck audit: PASS" in out and "All 4 applicable checks passed" in out


def test_text_is_escaped(report):
    report["input"] = "releases/<b>x</b>"
    report["findings"][0]["message"] = 'a <script>alert("x")</script> & b'
    out = render_html(report)
    assert "<script" not in out and "<b>x</b>" not in out
    assert "&lt;script&gt;" in out and "releases/&lt;b&gt;x&lt;/b&gt;" in out


@pytest.mark.parametrize("value", ["+923001234567", "923001234567", "03001234567", "35202-1234567-1"])
def test_masking(report, value):
    assert mask(f"id {value}.") == "id [redacted]."
    report["findings"][1]["message"] = f"Reversed {value} from its hash."
    report["findings"][1]["params"] = {"example": value}
    out = render_html(report)
    assert "[redacted]" in out and value not in out


def _settings_lines(cards: list[str]) -> list[str]:
    return [c[c.index("Settings:"):] for c in cards if "Settings:" in c]


def test_no_setting_is_shown_without_a_value(report):
    """RC302's ``columns`` is the list of columns found holding identifiers: empty means none was found.
    None and empty texts (settings not used, e.g. RC205's knowledge_days under self-split) are left out."""
    rc302 = {"rule_id": "RC302", "rule": "direct-identifiers", "title": "Columns holding phone numbers, ID numbers "
             "or names in clear", "table": "cdr", "file": "cdr.parquet", "status": "pass", "metric": "columns",
             "value": 0, "interval": None, "judged": None, "judge": "value", "threshold": {"op": "<=", "value": 0},
             "message": "No column holds phone numbers, ID numbers or names in clear", "params": {"columns": []},
             "result": None}
    rc205 = dict(rc302, rule_id="RC205", table="pings", params={
        "knowledge_days": None, "release_days": None, "knowledge_sample": "", "self_split": 3, "ordered": False,
        "model": {"alpha": 64.0, "beta": None}, "extra": {}, "targets": [0, None, 2]})
    empty = dict(rc302, rule_id="RC206", table="travel", params={"split_days": None, "note": "  "})
    report["findings"] += [rc302, rc205, empty]
    cards = _Text.of(render_html(report)).articles
    lines = _settings_lines(cards)
    assert lines, "the example's findings have settings"
    for line in lines:
        body = line[len("Settings:"):]
        for part in body.split(";"):
            key, eq, value = part.partition("=")
            assert eq and key.strip() and value.strip(), f"empty setting in {line!r}"
            assert value.strip() not in ("None", "[]", "{}", "()", "''", ","), f"raw empty value in {line!r}"
        assert not re.search(r"=\s*(?:,|;|$)", body), line
    card302 = next(c for c in cards if "RC302" in c)
    assert "Settings: columns = none" in card302
    card205 = next(c for c in cards if "RC205" in c)
    assert ("Settings: self_split = 3; ordered = false; model = (alpha = 64.0); extra = none; targets = 0, 2"
            in card205)
    assert "knowledge_days" not in card205 and "None" not in card205
    assert "Settings:" not in next(c for c in cards if "RC206" in c)      # nothing left to show: no line at all


def test_reproduce_is_one_pasteable_command(report):
    report["reproduce"] = "reidcheck audit 'releases/my hash' --seed 7 --config reidcheck.toml"
    out = render_html(report)
    blocks = re.findall(r"<pre><code>(.*?)</code></pre>", out, re.S)
    assert len(blocks) == 1
    command = html_module.unescape(blocks[0])
    assert command == report["reproduce"]                 # exactly the command: nothing appended
    assert "\n" not in command and "#" not in command


# -- real browser ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: CI must install it (Debian package `chromium`)")
        pytest.skip("chromium is not installed (Debian package `chromium`); the real-browser test needs it")
    return exe


def _run_chromium(exe: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [exe, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars",
           f"--user-data-dir={tmp_path / 'profile'}", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, f"chromium exited {proc.returncode}: {proc.stderr[-2000:]}"
    return proc


@pytest.mark.parametrize("verdict", ["fail", "pass"])
def test_real_browser(report, chromium, tmp_path, verdict):
    report["verdict"] = verdict
    page = tmp_path / "report.html"
    page.write_text(render_html(report), encoding="utf-8")

    dom = _Text.of(_run_chromium(chromium, tmp_path, "--dump-dom", page.as_uri()).stdout)
    assert dom.text.startswith(f"reidcheck re-identification audit {verdict.upper()}")
    for f in report["findings"]:
        assert any(f["rule_id"] in card and f["table"] in card for card in dom.articles), f["rule_id"]
    assert "93.6%" in next(c for c in dom.articles if "RC201" in c)
    assert report["reproduce"] in dom.text
    assert len(dom.articles) == len(report["findings"])

    shot = tmp_path / "shot.png"
    _run_chromium(chromium, tmp_path, f"--screenshot={shot}", "--window-size=1280,2000", page.as_uri())
    assert shot.read_bytes().startswith(PNG_MAGIC)
    pixels = mpimg.imread(shot)[..., :3]
    assert pixels.shape[:2] == (2000, 1280)
    assert pixels.std() > 0.05
    top = pixels[:150].reshape(-1, 3).mean(axis=0)
    want, other = (top[0], top[1]) if verdict == "fail" else (top[1], top[0])     # red or green banner
    assert want - other > 0.25, f"top band mean RGB {np.round(top, 3)} lacks the {verdict} colour"
