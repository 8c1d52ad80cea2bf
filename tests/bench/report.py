"""docs/performance.md's "after" section from the newest `make bench` results of each database and scale.

    python -m tests.bench.report 200x3 2000x10 > /tmp/after.md

Prints each run's table as written by bench.py, then, per page, how its cost grew from the small scale
to the large one: cost is the inverse of the page's ratio to /healthz in the same run, so the growth is
ratio(small) / ratio(large); the budget is at most 1.5.
"""

import re
import sys
from pathlib import Path

RESULTS = Path("instance/bench/results")


def newest(db: str, scale: str) -> Path:
    found = sorted(RESULTS.glob(f"bench-{db}-{scale}-*.md"))
    if not found:
        raise SystemExit(f"no result for {db} {scale} in {RESULTS}")
    return found[-1]


def ratios(text: str) -> dict[str, float]:
    """{page label: ratio} from the first table (the pages), and the sequential autosave."""
    result = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 7 and re.fullmatch(r"\d+\.\d+", cells[6] or "") and cells[0] != "page":
            label = cells[0]
            if label in result:
                label += " (sequential)" if "sequential" not in label else ""
            result.setdefault(label, float(cells[6]))
    return result


def main(small: str, large: str) -> None:
    for db, name in (("sqlite", "SQLite"), ("postgres", "PostgreSQL")):
        texts = {scale: newest(db, scale).read_text() for scale in (small, large)}
        print(f"### {name}, {large.replace('x', ' units × ')} years\n")
        print(texts[large].split("\n", 1)[1].strip(), "\n")
        print(f"### {name}: cost at {large} relative to {small} (budget ≤ 1.5)\n")
        print(f"| page | ratio at {small} | ratio at {large} | cost growth |")
        print("|---|---:|---:|---:|")
        a, b = ratios(texts[small]), ratios(texts[large])
        for label, ratio in b.items():
            if label.startswith("trivial route") or label not in a or not ratio:
                continue
            growth = a[label] / ratio
            mark = " **over**" if growth > 1.5 else ""
            print(f"| {label} | {a[label]:.3f} | {ratio:.3f} | {growth:.2f}{mark} |")
        print()
        print(f"<details><summary>{name}, {small}</summary>\n")
        print(texts[small].split("\n", 1)[1].strip())
        print("\n</details>\n")


if __name__ == "__main__":
    main(*sys.argv[1:3])
