#!/usr/bin/env python3
"""Adds up the results of every test layer and prints one closing line 'N passed, M failed'.

usage: summarize-tests.py [--cargo LOG]... [--junit DIR_OR_FILE]... [--missing LAYER]...
A layer named with --missing did not produce results (it crashed before reporting) and
counts as one failure.
"""
import argparse
import pathlib
import re
import sys
import xml.etree.ElementTree as ET


def cargo_counts(log):
    passed = failed = 0
    for m in re.finditer(r"test result: \w+\. (\d+) passed; (\d+) failed", pathlib.Path(log).read_text(errors="replace")):
        passed += int(m.group(1))
        failed += int(m.group(2))
    return passed, failed


def junit_counts(path):
    files = [path] if path.is_file() else sorted(path.rglob("*.xml"))
    passed = failed = 0
    for f in files:
        root = ET.parse(f).getroot()
        suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
        for s in suites:
            total = int(s.get("tests", 0))
            bad = int(s.get("failures", 0)) + int(s.get("errors", 0))
            skipped = int(s.get("skipped", 0))
            passed += total - bad - skipped
            failed += bad
    return passed, failed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cargo", action="append", default=[])
    ap.add_argument("--junit", action="append", default=[])
    ap.add_argument("--missing", action="append", default=[])
    args = ap.parse_args()
    total_passed = total_failed = 0
    for log in args.cargo:
        p, f = cargo_counts(log)
        print(f"  rust ({pathlib.Path(log).name}): {p} passed, {f} failed")
        total_passed += p
        total_failed += f
    for item in args.junit:
        path = pathlib.Path(item)
        if not path.exists():
            print(f"  {item}: no results")
            total_failed += 1
            continue
        p, f = junit_counts(path)
        print(f"  {item}: {p} passed, {f} failed")
        total_passed += p
        total_failed += f
    for layer in args.missing:
        print(f"  {layer}: did not run to completion")
        total_failed += 1
    print(f"{total_passed} passed, {total_failed} failed")
    return 1 if total_failed or not total_passed else 0


if __name__ == "__main__":
    sys.exit(main())
