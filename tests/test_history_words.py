"""The repository speaks of the project only: no session, issue-number or outside-folder references."""
import re
import subprocess

from conftest import REPO

PATTERN = re.compile(r"this session|last session|earlier session|the issue'?s?\b|\bissue #?\d+|\.\./shared|/work/shared",
                     re.IGNORECASE)


def test_no_history_words_in_tracked_files():
    files = subprocess.run(["git", "ls-files"], cwd=REPO, text=True, capture_output=True, check=True).stdout.split()
    hits = []
    for name in files:
        if name.startswith(("tests/data/", ".ci/")) or name == "tests/test_history_words.py":
            continue
        try:
            text = (REPO / name).read_text()
        except (UnicodeDecodeError, OSError):
            continue  # binary files (figures)
        hits += [f"{name}:{i}: {line.strip()[:100]}" for i, line in enumerate(text.splitlines(), 1)
                 if PATTERN.search(line)]
    assert not hits, "history words in the repository:\n" + "\n".join(hits)
