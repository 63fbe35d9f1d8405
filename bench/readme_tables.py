#!/usr/bin/python3
"""Copies the latest tables (results/latest.md, java-rate.md, ensemble.md, ensemble5.md) into bench/README.md between its markers."""
import pathlib

bench = pathlib.Path(__file__).resolve().parent
readme = bench / "README.md"
start, end = "<!-- latest tables: written by bench/readme_tables.py -->", "<!-- end of latest tables -->"
parts = []
for name in ["latest.md", "java-rate.md", "ensemble.md", "ensemble5.md"]:
    path = bench / "results" / name
    if path.exists():
        # Each table file starts with a level-1 title; inside the README it is a level-3 one.
        parts.append(path.read_text().replace("# ", "### ", 1).strip())
text = readme.read_text()
before, rest = text.split(start, 1)
_, after = rest.split(end, 1)
readme.write_text(before + start + "\n\n" + "\n\n".join(parts) + "\n\n" + end + after)
