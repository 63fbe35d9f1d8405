#!/usr/bin/python3
"""Parses a Prometheus text exposition (stdin) with the reference Python client's parser and
prints each family as JSON: {"name": ..., "type": ..., "help": ..., "samples": [[name, labels, value], ...]}.
A malformed exposition makes the parser raise, and this script exit non-zero."""
import json
import math
import sys

from prometheus_client.parser import text_string_to_metric_families


def main():
    families = []
    for family in text_string_to_metric_families(sys.stdin.read()):
        samples = [[s.name, s.labels, None if math.isnan(s.value) else s.value] for s in family.samples]
        families.append({"name": family.name, "type": family.type, "help": family.documentation, "samples": samples})
    json.dump(families, sys.stdout)


if __name__ == "__main__":
    main()
