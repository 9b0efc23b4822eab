#!/usr/bin/env python3
"""Writes the archive's example connector configs into OUT_DIR from what ./register.sh registers
for example_dot_env (the seed's settings), so they cannot drift from the users' flow:
  s3-sink.json        for POST /connectors (distributed worker)
  s3-sink.properties  for connect-standalone
usage: hub-example-config.py OUT_DIR"""
import json
import pathlib
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parents[1]

HEADER = """\
# The seed's setup as one connector: every record of sinetstream.sensor becomes a payload
# object (.bin) and a timestamp object in bucket mybucket, under
# topics/<topic>/year=YYYY/month=MM/day=dd/hour=HH/ in Asia/Tokyo.
# Generated from example_dot_env by `register.sh --dry-run`; edit the values for your site:
#   store.url    empty = Amazon S3; http://minio:9000 for MinIO; file:///data for plain files
#   aws.*        resolved by the worker's EnvVarConfigProvider, so the keys stay out of the
#                connector config: the worker needs config.providers=env and
#                config.providers.env.class=org.apache.kafka.common.config.provider.EnvVarConfigProvider
# Every key: doc/configuration.md.
"""


def main():
    out = pathlib.Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    env = {"PATH": "/usr/bin:/bin", "ENV_FILE": str(REPO / "example_dot_env"), "USE_JQ": "no"}
    dry = subprocess.run(["bash", str(REPO / "register.sh"), "--dry-run"], env=env, check=True,
                         capture_output=True, text=True).stdout
    config = json.loads(dry)
    name = config.pop("name")
    (out / f"{name}.json").write_text(json.dumps({"name": name, "config": config}, indent=2) + "\n")
    lines = [HEADER, f"name={name}"] + [f"{key}={value}" for key, value in config.items()]
    (out / f"{name}.properties").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
