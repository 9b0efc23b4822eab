"""The installable archive, installed: scripts/test-archive.sh unpacks
build/distributions/sinetstream-s3-sink-<version>.zip into a fresh directory and brings the stack
up with the Connect worker's plugin.path on it; these tests then run the connector from there.
Skipped when the worker's plugin.path is not such a directory (the usual e2e run, build/plugin)."""

import json
import re
from pathlib import Path

import pytest

import test_seed_example as seed
from helpers import CONNECTOR_CLASS, STACK_DIR, REPO


def plugin_dir():
    env_file = STACK_DIR / "stack.env"
    if not env_file.exists():
        return None
    env = dict(line.split("=", 1) for line in env_file.read_text().splitlines() if "=" in line)
    return Path(env["PLUGIN_DIR"]) if env.get("PLUGIN_DIR") else None


VERSION = re.search(r'(?m)^version\s*=\s*"([^"]+)"', (REPO / "Cargo.toml").read_text()).group(1)
PLUGINS = plugin_dir()
COMPONENT = PLUGINS / f"sinetstream-s3-sink-{VERSION}" if PLUGINS else None

pytestmark = pytest.mark.skipif(
    COMPONENT is None or not (COMPONENT / "manifest.json").exists(),
    reason="the worker's plugin.path is not an unpacked archive; scripts/test-archive.sh runs these")


def test_the_worker_loads_the_connector_from_the_unpacked_archive(stack, connect):
    manifest = json.loads((COMPONENT / "manifest.json").read_text())
    jars = sorted(p.relative_to(PLUGINS).as_posix() for p in PLUGINS.rglob("*.jar"))
    assert jars == [f"sinetstream-s3-sink-{VERSION}/lib/sinetstream-s3-sink-{VERSION}.jar"]
    ours = [p for p in connect.call("GET", "/connector-plugins") if p["class"] == CONNECTOR_CLASS]
    assert ours == [{"class": CONNECTOR_CLASS, "type": "sink", "version": manifest["version"]}]
    assert f"Loading plugin from: {COMPONENT}" in stack.connect_log.read_text(errors="replace")


def test_the_seed_example_from_the_archive(stack, connect, connectors, s3, tmp_path, uid):
    seed.test_seed_example("s3", stack, connect, connectors, s3, tmp_path, uid)
