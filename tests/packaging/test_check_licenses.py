"""scripts/check-licenses.py, fed fake cargo-about output and fake plugin directories: it must
refuse a copyleft crate, a licence it does not know, an undeclared jar and shaded classes."""

import importlib.util
import json
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("check_licenses", REPO / "scripts" / "check-licenses.py")
check = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check)

ALLOWED = {"Apache-2.0", "MIT", "BSD-3-Clause", "Unicode-3.0"}


def crate(name, version, declared):
    return {"package": {"name": name, "version": version}, "license": declared}


def licence(lic_id, *users, text=None):
    return {"id": lic_id, "name": f"{lic_id} licence", "text": text or f"text of {lic_id}",
            "used_by": [{"crate": {"name": n, "version": v}} for n, v in users]}


def about(crates, licences):
    return {"overview": [], "crates": crates, "licenses": licences}


@pytest.mark.parametrize("expression, ok", [
    ("MIT", True),
    ("MIT OR Apache-2.0", True),
    ("MIT/Apache-2.0", True),
    ("(MIT OR Apache-2.0) AND Unicode-3.0", True),
    ("Apache-2.0 WITH LLVM-exception", True),
    ("GPL-3.0-only", False),
    ("GPL-2.0+", False),
    ("MIT AND GPL-3.0-or-later", False),
    ("GPL-3.0-only OR MIT", True),
    ("LGPL-2.1-only OR AGPL-3.0-only", False),
    ("(MIT OR GPL-3.0-only) AND (LGPL-3.0-only OR BSD-3-Clause)", True),
    ("MPL-2.0", False),
])
def test_expressions(expression, ok):
    assert check.satisfiable(expression, ALLOWED) is ok


def test_an_unbalanced_expression_is_an_error():
    with pytest.raises(check.LicenceError, match="unbalanced"):
        check.satisfiable("(MIT OR Apache-2.0", ALLOWED)


def test_a_gpl_crate_is_refused_by_name():
    data = about([crate("serde", "1.0.0", "MIT OR Apache-2.0"), crate("readline-clone", "2.1.0", "GPL-3.0-only")],
                 [licence("Apache-2.0", ("serde", "1.0.0")), licence("GPL-3.0", ("readline-clone", "2.1.0"))])
    _, problems = check.check_crates(data, ALLOWED)
    assert any("readline-clone 2.1.0" in p and "GPL-3.0-only" in p for p in problems), problems
    assert any("uses GPL-3.0" in p for p in problems), problems
    assert not any("serde" in p for p in problems), problems


def test_a_crate_without_licence_text_is_refused():
    _, problems = check.check_crates(about([crate("mystery", "0.1.0", "MIT")], []), ALLOWED)
    assert problems == ["crate mystery 0.1.0: cargo-about found no licence text for 'MIT'"]


def test_copyleft_in_the_allow_list_is_refused(tmp_path):
    toml = tmp_path / "about.toml"
    toml.write_text('accepted = ["MIT", "LGPL-2.1-only"]\n')
    with pytest.raises(check.LicenceError, match="LGPL-2.1-only"):
        check.load_allow_list(toml)


def write_jar(path, names):
    with zipfile.ZipFile(path, "w") as z:
        for name in names:
            z.writestr(name, b"x")
    return path


OWN_ENTRIES = ["META-INF/MANIFEST.MF", "org/sinetstream/kafka/connect/s3/Version.class",
               "native/linux-x86_64/libsinets3sink.so", "sinetstream-s3-sink-version.properties"]


def test_an_undeclared_jar_and_shaded_classes_are_refused(tmp_path):
    write_jar(tmp_path / "sinetstream-s3-sink-0.1.0.jar", OWN_ENTRIES + ["com/google/common/base/Joiner.class"])
    write_jar(tmp_path / "guava-33.0.jar", ["com/google/common/base/Joiner.class"])
    jars, problems = check.check_jars(tmp_path)
    assert jars == ["guava-33.0.jar", "sinetstream-s3-sink-0.1.0.jar"]
    assert any(p.startswith("jar guava-33.0.jar: bundled, but its licence is not known") for p in problems), problems
    assert any("com/google/common/base/Joiner.class" in p and "sinetstream-s3-sink" in p for p in problems), problems


def run_main(tmp_path, data, capsys):
    (tmp_path / "about.json").write_text(json.dumps(data))
    (tmp_path / "about.toml").write_text('accepted = ["Apache-2.0", "MIT"]\n')
    plugin = tmp_path / "plugin"
    plugin.mkdir()
    write_jar(plugin / "sinetstream-s3-sink-0.1.0.jar", OWN_ENTRIES)
    out = tmp_path / "NOTICES.txt"
    rc = check.main(["--cargo-about", str(tmp_path / "about.json"), "--allow", str(tmp_path / "about.toml"),
                     "--plugin-dir", str(plugin), "--version", "0.1.0", "--out", str(out)])
    return rc, out, capsys.readouterr()


def test_main_fails_the_build_on_a_gpl_entry_and_writes_nothing(tmp_path, capsys):
    data = about([crate("jni", "0.21.1", "MIT OR Apache-2.0"), crate("gpl-thing", "1.0.0", "GPL-3.0-or-later")],
                 [licence("Apache-2.0", ("jni", "0.21.1")), licence("GPL-3.0", ("gpl-thing", "1.0.0"))])
    rc, out, captured = run_main(tmp_path, data, capsys)
    assert rc == 1
    assert "refused: crate gpl-thing 1.0.0: licence 'GPL-3.0-or-later' is not on the allow-list" in captured.err
    assert not out.exists()


def test_main_writes_notices_with_every_crate_and_licence_text(tmp_path, capsys):
    data = about([crate("jni", "0.21.1", "MIT OR Apache-2.0"), crate("memchr", "2.7.4", "Unlicense OR MIT")],
                 [licence("Apache-2.0", ("jni", "0.21.1"), text="Apache text"),
                  licence("MIT", ("memchr", "2.7.4"), text="Copyright (c) Andrew Gallant\nMIT text")])
    rc, out, captured = run_main(tmp_path, data, capsys)
    assert rc == 0, captured.err
    text = out.read_text()
    assert "Rust crates linked into the engine: 2" in text
    assert "Bundled Java libraries: none (lib/ holds sinetstream-s3-sink-0.1.0.jar" in text
    assert "memchr 2.7.4" in text and "Unlicense OR MIT" in text
    assert "Copyright (c) Andrew Gallant\nMIT text" in text and "Apache text" in text
    assert "2 crates and 1 jar(s) pass (Apache-2.0 1, MIT 1)" in captured.out
