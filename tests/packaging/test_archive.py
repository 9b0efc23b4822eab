"""The installable archive build/distributions/sinetstream-s3-sink-<version>.zip (built by
scripts/build.sh): Confluent Hub component layout, one version everywhere, the licences, and
example configs equal to what ./register.sh registers for example_dot_env."""

import hashlib
import json
import posixpath
import re
import subprocess
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
VERSION = re.search(r'(?m)^version\s*=\s*"([^"]+)"', (REPO / "Cargo.toml").read_text()).group(1)
ROOT = f"sinetstream-s3-sink-{VERSION}/"
JAR = f"{ROOT}lib/sinetstream-s3-sink-{VERSION}.jar"
# sha256 of https://www.apache.org/licenses/LICENSE-2.0.txt
APACHE_2_SHA256 = "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30"


@pytest.fixture(scope="module")
def archive():
    path = REPO / "build" / "distributions" / f"sinetstream-s3-sink-{VERSION}.zip"
    if not path.exists():
        pytest.fail(f"{path} missing: build it with scripts/build.sh", pytrace=False)
    with zipfile.ZipFile(path) as z:
        yield z


GUIDES = ["README.md", "README.ja.md", "docs/configuration.md", "docs/user-guide.md", "docs/user-guide.ja.md",
          "bench/README.md"]
DOC_FILES = ["example_dot_env", "bench/results/throughput.svg", "bench/results/vs-limit.svg"]  # what they show


def test_layout(archive):
    files = sorted(n for n in archive.namelist() if not n.endswith("/"))
    assert files == sorted(ROOT + f for f in [
        "manifest.json", "LICENSE", "THIRD-PARTY-NOTICES.txt", f"lib/sinetstream-s3-sink-{VERSION}.jar",
        "etc/s3-sink.json", "etc/s3-sink.properties"] + [f"doc/{name}" for name in GUIDES + DOC_FILES])


def test_manifest_has_the_fields_confluent_hub_reads(archive):
    manifest = json.loads(archive.read(ROOT + "manifest.json"))
    for field in ("name", "version", "title", "description", "owner", "support", "tags", "features",
                  "requirements", "component_types", "license"):
        assert manifest.get(field), field
    assert f"{manifest['owner']['username']}-{manifest['name']}" == "sinetstream-s3-sink"
    assert re.fullmatch(r"[a-z0-9_]{2,255}", manifest["owner"]["username"])
    assert manifest["owner"]["name"] and manifest["support"]["summary"]
    assert manifest["component_types"] == ["sink"]
    assert manifest["license"] == [{"name": "Apache-2.0", "url": "https://www.apache.org/licenses/LICENSE-2.0"}]


def test_one_version_in_manifest_jar_manifest_and_version_properties(archive, tmp_path):
    assert json.loads(archive.read(ROOT + "manifest.json"))["version"] == VERSION
    jar = tmp_path / "plugin.jar"
    jar.write_bytes(archive.read(JAR))
    with zipfile.ZipFile(jar) as z:
        mf = z.read("META-INF/MANIFEST.MF").decode()
        props = z.read("sinetstream-s3-sink-version.properties").decode()
        natives = sorted(n for n in z.namelist() if n.startswith("native/") and n.endswith(".so"))
    assert f"Implementation-Version: {VERSION}" in mf.splitlines()
    assert f"version={VERSION}" in props.splitlines()
    assert natives == ["native/linux-aarch64/libsinets3sink.so", "native/linux-x86_64/libsinets3sink.so"]


def test_licence_and_generated_notices(archive):
    licence = archive.read(ROOT + "LICENSE")
    assert hashlib.sha256(licence).hexdigest() == APACHE_2_SHA256
    assert licence == (REPO / "LICENSE").read_bytes()
    notices = archive.read(ROOT + "THIRD-PARTY-NOTICES.txt").decode()
    assert "Generated at build time" in notices
    assert "Bundled Java libraries: none" in notices
    crates = int(re.search(r"Rust crates linked into the engine: (\d+)", notices).group(1))
    assert crates > 100
    for name in ("jni ", "tokio ", "object_store ", "aws-lc-sys ", "zstd-sys "):
        assert f"\n{name}" in notices, name
    assert "GPL" not in re.sub(r"(?s)Licence texts.*", "", notices)


def test_docs_are_the_repository_files(archive):
    for name in GUIDES + DOC_FILES:
        assert archive.read(f"{ROOT}doc/{name}") == (REPO / name).read_bytes(), name


def test_the_guides_links_resolve_inside_the_archive(archive):
    names = set(archive.namelist())
    for guide in GUIDES:
        text = archive.read(f"{ROOT}doc/{guide}").decode()
        for target in re.findall(r"\]\(([^)#:\s]+)(?:#[^)]*)?\)", text):
            path = posixpath.normpath(posixpath.join(f"{ROOT}doc", posixpath.dirname(guide), target))
            assert path in names, f"{guide} links {target}, which the archive does not hold"


def test_example_configs_are_what_register_sh_registers_for_example_dot_env(archive):
    dry = subprocess.run(["bash", str(REPO / "register.sh"), "--dry-run"], check=True, capture_output=True,
                         text=True, env={"PATH": "/usr/bin:/bin", "ENV_FILE": str(REPO / "example_dot_env")}).stdout
    expected = json.loads(dry)
    name = expected.pop("name")
    assert json.loads(archive.read(f"{ROOT}etc/{name}.json")) == {"name": name, "config": expected}
    props = {}
    for line in archive.read(f"{ROOT}etc/{name}.properties").decode().splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            props[key] = value
    assert props == {"name": name, **expected}
    # The seed's settings.
    assert expected["topics"] == "sinetstream.sensor" and expected["s3.bucket.name"] == "mybucket"
    assert expected["timezone"] == "Asia/Tokyo" and expected["flush.size"] == "1"
