#!/usr/bin/env python3
"""Checks the licences of what the plugin bundles and writes THIRD-PARTY-NOTICES.txt.

usage: check-licenses.py --cargo-about JSON --allow ABOUT_TOML --plugin-dir DIR --version V --out FILE

- JSON is `cargo about generate --format json` for rust-core/jni (the engine inside the jar).
  Every crate's declared SPDX expression must be satisfiable with licences on the allow-list
  (`accepted` in ABOUT_TOML), and every licence cargo-about chose for it must be on that list.
- DIR is the plugin directory (the archive's lib/). Our own jar may hold only our classes, its
  resources and the engine; any other jar is refused until its licence is recorded here.
- The allow-list itself must be permissive: a copyleft id in it is refused.
Exits 1 naming every crate or jar at fault; writes FILE only when all pass.

Hand-written SPDX evaluation (AND, OR, WITH, parentheses, the legacy "/"): the build uses only
Python's standard library, and cargo-about's own resolution against the same list runs first;
this is the second, independent check that the tests can feed fake entries to.
"""
import argparse
import json
import pathlib
import re
import sys
import textwrap
import tomllib
import zipfile

COPYLEFT = re.compile(r"(^|-)(A|L)?GPL|^MPL|^EPL|^CDDL|^EUPL|^SSPL|^OSL|^CPAL|^CECILL", re.IGNORECASE)
OWN_JAR = re.compile(r"sinetstream-s3-sink-[^/]*\.jar")
OWN_ENTRIES = re.compile(r"META-INF/.*|org/|org/sinetstream/.*|native/.*|sinetstream-s3-sink-[a-z0-9-]+\.properties")


class LicenceError(Exception):
    pass


def tokens(expression):
    return re.findall(r"\(|\)|[^\s()]+", expression.replace("/", " OR "))


def satisfiable(expression, allowed):
    """True when the SPDX expression can be met using only licences in `allowed`."""
    toks = tokens(expression)
    pos = 0

    def peek():
        return toks[pos] if pos < len(toks) else None

    def take():
        nonlocal pos
        pos += 1
        return toks[pos - 1] if pos <= len(toks) else None

    def primary():
        tok = peek()
        if tok is None:
            raise LicenceError(f"incomplete licence expression {expression!r}")
        if tok == "(":
            take()
            value = disjunction()
            if take() != ")":
                raise LicenceError(f"unbalanced licence expression {expression!r}")
            return value
        take()
        licence = tok.rstrip("+")
        if peek() == "WITH":  # an exception only adds permissions; the base licence decides
            take()
            take()
        return licence in allowed

    def conjunction():
        value = primary()
        while peek() == "AND":
            take()
            value = primary() and value
        return value

    def disjunction():
        value = conjunction()
        while peek() == "OR":
            take()
            value = conjunction() or value
        return value

    result = disjunction()
    if pos != len(toks):
        raise LicenceError(f"cannot parse licence expression {expression!r}")
    return result


def load_allow_list(about_toml):
    allowed = tomllib.loads(pathlib.Path(about_toml).read_text())["accepted"]
    copyleft = [lic for lic in allowed if COPYLEFT.search(lic)]
    if copyleft:
        raise LicenceError(f"{about_toml}: the allow-list must not hold copyleft licences: {', '.join(copyleft)}")
    return set(allowed)


def crate_key(package):
    return f"{package['name']} {package['version']}"


def check_crates(about, allowed):
    """Returns (crates, problems): crates as key -> (declared, chosen ids)."""
    chosen = {}
    for lic in about["licenses"]:
        for user in lic["used_by"]:
            chosen.setdefault(crate_key(user["crate"]), set()).add(lic["id"])
    crates, problems = {}, []
    for entry in about["crates"]:
        key, declared = crate_key(entry["package"]), str(entry["license"])
        picked = chosen.get(key, set())
        crates[key] = (declared, picked)
        try:
            ok = satisfiable(declared, allowed)
        except LicenceError as exc:
            problems.append(f"crate {key}: {exc}")
            continue
        if not ok:
            problems.append(f"crate {key}: licence {declared!r} is not on the allow-list")
        elif not picked:
            problems.append(f"crate {key}: cargo-about found no licence text for {declared!r}")
        for lic in sorted(picked - allowed):
            problems.append(f"crate {key}: uses {lic}, which is not on the allow-list")
    return crates, problems


def check_jars(plugin_dir):
    """Returns (jar names, problems)."""
    jars = sorted(p for p in pathlib.Path(plugin_dir).rglob("*.jar"))
    if not jars:
        return [], [f"{plugin_dir}: no jar found"]
    problems = []
    for jar in jars:
        if not OWN_JAR.fullmatch(jar.name):
            problems.append(f"jar {jar.name}: bundled, but its licence is not known to scripts/check-licenses.py")
            continue
        with zipfile.ZipFile(jar) as z:
            foreign = [n for n in z.namelist() if not OWN_ENTRIES.fullmatch(n)]
        if foreign:
            problems.append(f"jar {jar.name}: holds files that are not ours (shaded code?): {', '.join(foreign[:5])}")
    return [j.name for j in jars], problems


def render(version, crates, about, jars):
    by_licence = {}
    for key, (_, picked) in crates.items():
        for lic in picked:
            by_licence.setdefault(lic, []).append(key)
    texts = {}
    for lic in about["licenses"]:
        users = sorted(crate_key(u["crate"]) for u in lic["used_by"])
        entry = texts.setdefault(lic["text"].strip(), [lic["id"], lic["name"], set()])
        entry[2].update(users)
    out = [
        f"Third-party software in sinetstream-s3-sink {version}",
        "",
        "Generated at build time from Cargo.lock by cargo-about (scripts/cargo-about.sh) and",
        "scripts/check-licenses.py; not edited by hand.",
        "",
        "The plugin is licensed under Apache-2.0 (LICENSE). Its jar holds the Java classes of this",
        "project and the engine, a native library for linux-x86_64 and linux-aarch64 compiled from",
        "this project's Rust crates and the third-party crates listed below, which are linked into it.",
        "",
        f"Bundled Java libraries: none (lib/ holds {', '.join(jars)}: this project's classes only).",
        "",
        f"Rust crates linked into the engine: {len(crates)}",
        "",
    ]
    for lic in sorted(by_licence):
        out += textwrap.wrap(f"{lic} ({len(by_licence[lic])}): {', '.join(sorted(by_licence[lic]))}",
                             width=100, subsequent_indent="    ", break_on_hyphens=False)
    out += ["", f"{'crate':<40} {'declared licence':<50} used here"]
    for key in sorted(crates):
        declared, picked = crates[key]
        out.append(f"{key:<40} {declared:<50} {' AND '.join(sorted(picked))}")
    out += ["", "Licence texts", "============="]
    for text, (lic_id, name, users) in sorted(texts.items(), key=lambda kv: (kv[1][0], sorted(kv[1][2]))):
        out += ["", "-" * 78, f"{name} ({lic_id})", f"used by: {', '.join(sorted(users))}", "-" * 78, "", text]
    return "\n".join(out) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--cargo-about", required=True)
    ap.add_argument("--allow", required=True)
    ap.add_argument("--plugin-dir", required=True)
    ap.add_argument("--version", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    try:
        allowed = load_allow_list(args.allow)
        about = json.loads(pathlib.Path(args.cargo_about).read_text())
        crates, problems = check_crates(about, allowed)
        jars, jar_problems = check_jars(args.plugin_dir)
    except (LicenceError, OSError, KeyError, ValueError) as exc:
        print(f"licence check: error: {exc}", file=sys.stderr)
        return 1
    problems += jar_problems
    if problems:
        for problem in problems:
            print(f"licence check: refused: {problem}", file=sys.stderr)
        print(f"licence check: {len(problems)} problem(s); allowed: {', '.join(sorted(allowed))}", file=sys.stderr)
        return 1
    counts = {}
    for _, picked in crates.values():
        for lic in picked:
            counts[lic] = counts.get(lic, 0) + 1
    pathlib.Path(args.out).write_text(render(args.version, crates, about, jars))
    summary = ", ".join(f"{lic} {n}" for lic, n in sorted(counts.items()))
    print(f"licence check: {len(crates)} crates and {len(jars)} jar(s) pass ({summary}); wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
