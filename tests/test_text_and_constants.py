"""The repository speaks of the product and keeps one home per constant: no development history
by session or issue number in any tracked text, and the input sample rate written as a number
only in the spec (and as the peers' own input rate)."""

import re
import subprocess

from kws.paths import REPO_ROOT


def _tracked(*patterns: str) -> list[str]:
    out = subprocess.run(["git", "ls-files", *patterns], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    return out.stdout.split()


def test_no_text_speaks_of_sessions_or_issue_numbers():
    history = re.compile(r"(sess" r"ions?|iss" r"ues?)[ #-]*[0-9]", re.IGNORECASE)  # split: this file holds no hit
    hits = []
    for rel in _tracked():
        path = REPO_ROOT / rel
        if path.suffix in {".wav", ".tflite", ".keras", ".bin", ".npz", ".png", ".int8"} or "corpus" in path.parts:
            continue
        try:
            text = path.read_text()
        except (UnicodeDecodeError, OSError):
            continue
        hits += [f"{rel}:{n}" for n, line in enumerate(text.splitlines(), 1) if history.search(line)]
    assert hits == []


def test_the_sample_rate_is_written_only_in_the_spec():
    literal = re.compile(r"\b16_?000\b")
    allowed = {"host/kws/evaluate/peers.py"}  # openWakeWord's and PocketSphinx's own input rate
    hits = [
        f"{rel}:{n}"
        for rel in _tracked("host/kws/*.py")
        if rel not in allowed
        for n, line in enumerate((REPO_ROOT / rel).read_text().splitlines(), 1)
        if literal.search(line)
    ]
    assert hits == []
