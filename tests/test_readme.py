"""Every bash block of README.md runs when pasted, top to bottom, in a fresh checkout.

The blocks run in order in one temporary copy of the checkout's tracked files (no ``../shared`` beside
it), each as one bash script, with this environment's ``bin/`` first on the PATH — what
``source .venv/bin/activate`` of the README's install step does. Every command must exit 0, except
one whose comment says ``exit 1`` (an audit whose FAIL is the point), which must exit exactly 1.
A block is not run only when an HTML comment just above it says why: ``<!-- readme: not run (why) -->``
(the install step, the test command itself, a cluster). Slow: about ten minutes; CI runs it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
SKIP = re.compile(r"<!--\s*readme:\s*not run\s*\((.+)\)\s*-->")
PRELUDE = 'set -o pipefail\ntrap \'echo "$? $LINENO" >> "$README_ERRORS"\' ERR\n'


@dataclass
class Block:
    line: int                    # line of the opening fence in README.md (1-based)
    text: str
    skip: str | None             # why it is not run, or None


def blocks(text: str) -> list[Block]:
    """The README's ```bash blocks with their skip reasons."""
    out, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        if lines[i].strip() == "```bash":
            start, body = i, []
            i += 1
            while lines[i].strip() != "```":
                body.append(lines[i])
                i += 1
            above = next((lines[j] for j in range(start - 1, -1, -1) if lines[j].strip()), "")
            m = SKIP.search(above)
            out.append(Block(start + 1, "\n".join(body) + "\n", m.group(1).strip() if m else None))
        i += 1
    return out


def commands(body: str) -> list[tuple[int, int, str]]:
    """Logical commands of a block as (first line, last line, text), lines 1-based in the block:
    backslash continuations and here-documents belong to the command that starts them."""
    out, lines, i = [], body.splitlines(), 0
    while i < len(lines):
        first, text = i, lines[i]
        heredoc = re.search(r"<<-?\s*'?(\w+)'?", lines[i])
        while text.endswith("\\") and i + 1 < len(lines):
            i += 1
            text = text[:-1] + " " + lines[i].strip()
        if heredoc:
            while i + 1 < len(lines) and lines[i + 1].strip() != heredoc.group(1):
                i += 1
            i += 1
        if text.strip() and not text.lstrip().startswith("#"):
            out.append((first + 1, i + 1, text))
        i += 1
    return out


def test_blocks_are_found_and_skips_say_why():
    found = blocks(README.read_text())
    assert len(found) >= 10
    skipped = [b for b in found if b.skip]
    assert all(len(b.skip) > 10 for b in skipped)
    assert len(skipped) <= 5, [b.line for b in skipped]     # the rest of the README runs
    # a block that is run must not install into (and so re-point) the environment running the tests
    assert not [b.line for b in found if not b.skip and re.search(r"\bpip\b.*\binstall\b", b.text)]
    assert commands("a \\\n  b\ncat > f <<'EOF'\nx\nEOF\n# c\nd  # exit 1\n") == [
        (1, 2, "a  b"), (3, 5, "cat > f <<'EOF'"), (7, 7, "d  # exit 1")]


@pytest.mark.slow
def test_every_bash_block_runs_when_pasted_in_order(tmp_path):
    if shutil.which("git") is None:
        pytest.skip("git is needed to list the checkout's files")
    checkout = tmp_path / "reidcheck"
    files = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    for name in filter(None, files.decode().split("\0")):
        src = REPO / name
        if src.is_file():
            (checkout / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, checkout / name)
    env = {k: v for k, v in os.environ.items() if not k.startswith("REIDCHECK_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["README_ERRORS"] = str(tmp_path / "errors.txt")
    env["COLUMNS"] = "160"
    failures = []
    offset = PRELUDE.count("\n")
    for block in blocks((checkout / "README.md").read_text()):
        if block.skip:
            continue
        errors = tmp_path / "errors.txt"
        errors.write_text("")
        script = tmp_path / f"block{block.line}.sh"
        script.write_text(PRELUDE + block.text)
        t0 = time.perf_counter()
        proc = subprocess.run(["bash", str(script)], cwd=checkout, env=env, capture_output=True, text=True,
                              timeout=1800)
        print(f"README.md:{block.line}: {time.perf_counter() - t0:.0f} s")     # shown with -s or on failure
        failed = {}
        for row in errors.read_text().split("\n"):
            if row.strip():
                rc, line = map(int, row.split())
                failed[line - offset] = rc
        for first, last, text in commands(block.text):
            rc = next((failed[n] for n in range(first, last + 1) if n in failed), 0)
            expected = 1 if re.search(r"#.*\bexit 1\b", text) else 0
            if rc != expected:
                failures.append(f"README.md:{block.line + first}: exit {rc}, expected {expected}: {text.strip()}\n"
                                f"{proc.stderr[-2000:]}")
    assert not failures, "\n".join(failures)
