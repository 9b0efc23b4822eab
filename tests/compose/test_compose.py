"""docker-compose.yml checks that need no Docker engine.

- `docker compose config` succeeds for each profile with example settings
  (needs the compose CLI plugin: scripts/install-compose-plugin.sh);
- structure: pinned images, stock Connect image with the plugin mounted into its
  plugin path, profiles, healthchecks, worker settings;
- every ${VAR} of the compose file and every setting register.sh reads is documented
  in example_dot_env, and example_dot_env keeps the original guide's names and defaults.
"""
import os
import re
import shutil
import subprocess

import pytest
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COMPOSE_FILE = os.path.join(REPO, "docker-compose.yml")
EXAMPLE_ENV = os.path.join(REPO, "example_dot_env")
PLUGIN_PATH_DIRS = ("/usr/share/java", "/usr/share/confluent-hub-components")
BYTE_ARRAY = "org.apache.kafka.connect.converters.ByteArrayConverter"

# The original guide's parameter table: name -> example value / default in example_dot_env.
SEED_PARAMETERS = {
    "BROKER_HOSTNAME": "kafka.example.org",
    "KAFKA_TOPIC": "sinetstream.sensor",
    "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
    "AWS_SECRET_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "S3_BUCKET_NAME": "mybucket",
    "S3_REGION": None,  # default us-east-1, documented
    "S3_ENDPOINT_URL": "http://minio:9000",
    "S3_OBJECT_EXTENSION": ".bin",
    "REST_PORT": "8083",
}


def load_compose():
    with open(COMPOSE_FILE) as f:
        return yaml.safe_load(f)


def example_env_entries():
    """NAME -> list of values, for active (NAME=v) and commented (#NAME=v) lines."""
    entries = {}
    with open(EXAMPLE_ENV) as f:
        for line in f:
            m = re.match(r"^#?([A-Z][A-Z0-9_]*)=(.*)$", line.strip())
            if m:
                entries.setdefault(m.group(1), []).append(m.group(2))
    return entries


def active_example_env():
    with open(EXAMPLE_ENV) as f:
        return dict(re.match(r"^([A-Z][A-Z0-9_]*)=(.*)$", line.strip()).groups()
                    for line in f if re.match(r"^[A-Z][A-Z0-9_]*=", line.strip()))


# ------------------------------------------------------------------ docker compose config

def compose_available():
    if shutil.which("docker") is None:
        return False
    result = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True)
    return result.returncode == 0


needs_compose = pytest.mark.skipif(not compose_available(),
                                   reason="docker compose plugin missing: run scripts/install-compose-plugin.sh")


def compose_config(env_file, *profiles):
    # clean environment: the shell's variables would override the env file
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/tmp")}
    if "DOCKER_CONFIG" in os.environ:
        env["DOCKER_CONFIG"] = os.environ["DOCKER_CONFIG"]
    args = ["docker", "compose", "-f", COMPOSE_FILE, "--env-file", env_file]
    for p in profiles:
        args += ["--profile", p]
    return subprocess.run(args + ["config", "--format", "json"], capture_output=True, text=True, env=env)


def write_env(tmp_path, values):
    path = tmp_path / "env"
    path.write_text("".join("%s=%s\n" % kv for kv in values.items()))
    return str(path)


@needs_compose
@pytest.mark.parametrize("profile,services", [
    (None, {"kafka-connect"}),
    ("minio", {"kafka-connect", "minio", "create-bucket"}),
])
def test_config_with_example_values(profile, services):
    result = compose_config(EXAMPLE_ENV, *([profile] if profile else []))
    assert result.returncode == 0, result.stderr
    assert "not set" not in result.stderr, result.stderr
    import json
    config = json.loads(result.stdout)
    assert set(config["services"]) == services
    kc = config["services"]["kafka-connect"]
    assert kc["environment"]["BROKER_HOSTNAME"] == "kafka.example.org"
    assert kc["environment"]["AWS_SECRET_KEY"] == SEED_PARAMETERS["AWS_SECRET_KEY"]
    assert [p["published"] for p in kc["ports"]] == ["8083"]


@needs_compose
def test_config_files_profile_without_aws_variables(tmp_path):
    values = {k: v for k, v in active_example_env().items() if not k.startswith("AWS_")}
    values["S3_ENDPOINT_URL"] = "file:///data"
    result = compose_config(write_env(tmp_path, values), "files")
    assert result.returncode == 0, result.stderr
    assert "not set" not in result.stderr, result.stderr
    import json
    config = json.loads(result.stdout)
    assert set(config["services"]) == {"kafka-connect", "create-bucket-dir"}
    mounts = {v["target"]: v for v in config["services"]["kafka-connect"]["volumes"]}
    assert mounts["/data"]["source"] == os.path.join(REPO, "data")


@needs_compose
def test_config_aws_secret_access_key_alternative(tmp_path):
    values = dict(active_example_env())
    secret = values.pop("AWS_SECRET_KEY")
    values["AWS_SECRET_ACCESS_KEY"] = secret
    result = compose_config(write_env(tmp_path, values), "minio")
    assert result.returncode == 0, result.stderr
    import json
    services = json.loads(result.stdout)["services"]
    environment = services["kafka-connect"]["environment"]
    # compose passes the name .env uses (and no empty other one); the worker gets both names
    assert environment["AWS_SECRET_ACCESS_KEY"] == secret and environment["AWS_SECRET_KEY"] is None
    worker = run_wrapper({k: v for k, v in environment.items() if v is not None})
    assert worker.env["AWS_SECRET_KEY"] == secret and worker.env["AWS_SECRET_ACCESS_KEY"] == secret
    assert services["minio"]["environment"]["MINIO_ROOT_PASSWORD"] == secret


AWS_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_KEY", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")


@needs_compose
def test_config_without_aws_keys_exports_none(tmp_path):
    """No keys in .env: the container gets no AWS_* variable at all (not empty ones), so the
    engine takes the default credential chain (IAM role, IRSA, ECS/EKS, instance profile)."""
    import json
    values = {k: v for k, v in active_example_env().items() if not k.startswith("AWS_")}
    result = compose_config(write_env(tmp_path, values))
    assert result.returncode == 0, result.stderr
    environment = json.loads(result.stdout)["services"]["kafka-connect"]["environment"]
    for name in AWS_VARIABLES:
        assert environment.get(name) is None, (name, environment.get(name))  # null: not set
    # written but left empty in .env: compose passes "", the command drops it
    result = compose_config(write_env(tmp_path, dict(values, AWS_ACCESS_KEY_ID="", AWS_SECRET_KEY="")))
    environment = json.loads(result.stdout)["services"]["kafka-connect"]["environment"]
    assert environment["AWS_ACCESS_KEY_ID"] == ""
    worker = run_wrapper({k: v for k, v in environment.items() if v is not None})
    assert not [name for name in worker.env if name.startswith("AWS_")], worker.env


@needs_compose
def test_config_session_token_passes_with_the_keys(tmp_path):
    import json
    values = dict(active_example_env(), AWS_SESSION_TOKEN="FwoGZXIvYXdzEXAMPLETOKEN")
    result = compose_config(write_env(tmp_path, values))
    assert result.returncode == 0, result.stderr
    environment = json.loads(result.stdout)["services"]["kafka-connect"]["environment"]
    assert environment["AWS_SESSION_TOKEN"] == "FwoGZXIvYXdzEXAMPLETOKEN"
    assert environment["AWS_ACCESS_KEY_ID"] == SEED_PARAMETERS["AWS_ACCESS_KEY_ID"]


@needs_compose
@pytest.mark.parametrize("cp_version", [None, "8.0.3"])
def test_config_cp_version(tmp_path, cp_version):
    import json
    values = dict(active_example_env())
    if cp_version:
        values["CP_VERSION"] = cp_version
    result = compose_config(write_env(tmp_path, dict(values, S3_ENDPOINT_URL="file:///data")), "files")
    assert result.returncode == 0, result.stderr
    services = json.loads(result.stdout)["services"]
    for name in ("kafka-connect", "create-bucket-dir"):
        assert services[name]["image"] == "confluentinc/cp-kafka-connect:" + (cp_version or "7.8.0"), name


SASL_SSL_ENV = {"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
                "KAFKA_SASL_USERNAME": "sinetstream", "KAFKA_SASL_PASSWORD": "broker-pass-never-shown",
                "KAFKA_SSL_CA_FILE": "/conf/kafka-ca.pem"}


@needs_compose
def test_config_secured_broker(tmp_path):
    """The broker's settings reach the container as they are; the password only as its own
    variable, which the worker's env config provider may read."""
    import json
    result = compose_config(write_env(tmp_path, dict(active_example_env(), **SASL_SSL_ENV)))
    assert result.returncode == 0, result.stderr
    environment = json.loads(result.stdout)["services"]["kafka-connect"]["environment"]
    for name, value in SASL_SSL_ENV.items():
        assert environment[name] == value, name
    holding = [k for k, v in environment.items() if v and "broker-pass-never-shown" in v]
    assert holding == ["KAFKA_SASL_PASSWORD"], holding
    assert re.fullmatch(environment["CONNECT_CONFIG_PROVIDERS_ENV_PARAM_ALLOWLIST_PATTERN"], "KAFKA_SASL_PASSWORD")


@needs_compose
def test_config_rest_port_and_missing_broker(tmp_path):
    values = dict(active_example_env(), REST_PORT="18083")
    result = compose_config(write_env(tmp_path, values))
    assert result.returncode == 0, result.stderr
    assert '"published": "18083"' in result.stdout
    del values["BROKER_HOSTNAME"]
    result = compose_config(write_env(tmp_path, values))
    assert result.returncode != 0
    assert "BROKER_HOSTNAME" in result.stderr


# ------------------------------------------------------------------ structure

def test_images_pinned():
    services = load_compose()["services"]
    # the Connect image's release is ${CP_VERSION:-<pinned default>}, the same for both services
    assert services["kafka-connect"]["image"] == services["create-bucket-dir"]["image"]
    for name, service in services.items():
        image = re.sub(r"\$\{CP_VERSION:-([^}$]+)\}$", r"\1", service["image"])
        assert "$" not in image, name
        repo, _, tag = image.rpartition(":")
        assert repo and "/" not in tag, "%s: image %s has no explicit tag" % (name, image)
        assert tag != "latest", name
    images = {re.sub(r"\$\{CP_VERSION:-([^}$]+)\}$", r"\1", s["image"]) for s in services.values()}
    assert any(re.fullmatch(r"confluentinc/cp-kafka-connect:7\.8\.\d+", i) for i in images)
    assert any(re.fullmatch(r"minio/minio:RELEASE\.\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ", i) for i in images)
    assert any(re.fullmatch(r"minio/mc:RELEASE\.\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ", i) for i in images)


def test_connect_uses_stock_image_with_plugin_mounted():
    kc = load_compose()["services"]["kafka-connect"]
    assert "build" not in kc
    assert kc["image"].startswith("confluentinc/cp-kafka-connect:")
    assert "profiles" not in kc
    env = kc["environment"]
    plugin_path = env.get("CONNECT_PLUGIN_PATH", ",".join(PLUGIN_PATH_DIRS)).split(",")
    plugin_mounts = [v for v in kc["volumes"] if isinstance(v, dict) and "build/plugin" in v["source"]]
    assert len(plugin_mounts) == 1
    mount = plugin_mounts[0]
    assert mount["type"] == "bind" and mount.get("read_only") is True
    parent, _, leaf = mount["target"].rpartition("/")
    assert parent in plugin_path and leaf, mount["target"]
    assert mount["target"] == "/usr/share/confluent-hub-components/sinetstream-s3-sink"


def test_worker_settings():
    kc = load_compose()["services"]["kafka-connect"]
    env = kc["environment"]
    assert env["CONNECT_KEY_CONVERTER"] == BYTE_ARRAY
    assert env["CONNECT_VALUE_CONVERTER"] == BYTE_ARRAY
    for key in ("CONNECT_GROUP_ID", "CONNECT_CONFIG_STORAGE_TOPIC", "CONNECT_OFFSET_STORAGE_TOPIC",
                "CONNECT_STATUS_STORAGE_TOPIC", "CONNECT_REST_ADVERTISED_HOST_NAME"):
        assert env.get(key), key
    assert "env" in env["CONNECT_CONFIG_PROVIDERS"].split(",")
    assert env["CONNECT_CONFIG_PROVIDERS_ENV_CLASS"] == "org.apache.kafka.common.config.provider.EnvVarConfigProvider"
    # the allowlist lets the connector configs reach the variables register.sh references
    allow = re.compile(env["CONNECT_CONFIG_PROVIDERS_ENV_PARAM_ALLOWLIST_PATTERN"])
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_KEY", "AWS_SECRET_ACCESS_KEY", "SINETSTREAM_CRYPTO_PASSWORD"):
        assert allow.fullmatch(name), name
        assert name in env, name
    assert not allow.fullmatch("PATH")
    # bootstrap servers come from BROKER_HOSTNAME through the stock entrypoint
    script = kc["command"][-1]
    assert "CONNECT_BOOTSTRAP_SERVERS" in script and "9092" in script
    assert script.rstrip().endswith("exec /etc/confluent/docker/run")
    assert any(p.endswith(":8083") and "REST_PORT" in p for p in kc["ports"])


def test_allowed_paths_cover_the_data_and_conf_mounts():
    kc = load_compose()["services"]["kafka-connect"]
    allowed = kc["environment"]["SINETS3_ALLOWED_PATHS"].split(",")
    targets = {v.split(":")[1] if isinstance(v, str) else v["target"] for v in kc["volumes"]}
    assert {"/data", "/conf"} <= targets
    assert sorted(allowed) == ["/conf", "/data"]


class Worker:
    """What the compose command hands the image's entrypoint."""

    def __init__(self, result):
        self.returncode, self.stdout, self.stderr = result.returncode, result.stdout, result.stderr
        self.env = dict(line.split("=", 1) for line in result.stdout.split("\0") if "=" in line)

    def client_settings(self):
        """{client prefix: {setting: value}} of the CONNECT_*SECURITY/SASL/SSL variables."""
        out = {}
        for name, value in self.env.items():
            m = re.fullmatch(r"CONNECT_((?:CONSUMER_|PRODUCER_|ADMIN_)?)((?:SECURITY|SASL|SSL)_[A-Z_]+)", name)
            if m:
                out.setdefault(m.group(1), {})[m.group(2)] = value
        return out


def run_wrapper(env):
    """Run the compose command's shell snippet (compose's $$ unescaped, as compose does) with
    ENV, the image's entrypoint replaced by a dump of the environment."""
    script = load_compose()["services"]["kafka-connect"]["command"][-1]
    script = script.replace("$$", "$").replace("exec /etc/confluent/docker/run", "printf '\\0'; env -0")
    env = dict({"BROKER_HOSTNAME": "kafka.example.org"}, **env, PATH="/usr/bin:/bin")
    return Worker(subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True))


def test_wrapper_plaintext_by_default():
    worker = run_wrapper({})
    assert worker.returncode == 0, worker.stderr
    settings = worker.client_settings()
    assert set(settings) == {"", "CONSUMER_", "PRODUCER_", "ADMIN_"}
    assert all(s == {"SECURITY_PROTOCOL": "PLAINTEXT"} for s in settings.values()), settings


def test_wrapper_sasl_ssl_reaches_every_client(tmp_path):
    ca = tmp_path / "kafka-ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    worker = run_wrapper(dict(SASL_SSL_ENV, KAFKA_SSL_CA_FILE=str(ca)))
    assert worker.returncode == 0, worker.stderr
    settings = worker.client_settings()
    assert set(settings) == {"", "CONSUMER_", "PRODUCER_", "ADMIN_"}  # worker, connectors, DLQ, admin
    for prefix, s in settings.items():
        assert s == {
            "SECURITY_PROTOCOL": "SASL_SSL",
            "SASL_MECHANISM": "SCRAM-SHA-512",
            "SASL_JAAS_CONFIG": 'org.apache.kafka.common.security.scram.ScramLoginModule required '
                                'username="sinetstream" password="${env:KAFKA_SASL_PASSWORD}";',
            "SSL_TRUSTSTORE_TYPE": "PEM",
            "SSL_TRUSTSTORE_LOCATION": str(ca),
        }, prefix
    assert "broker-pass-never-shown" not in worker.stdout.replace(
        "KAFKA_SASL_PASSWORD=broker-pass-never-shown", "") + worker.stderr


def test_wrapper_other_protocols():
    plain = run_wrapper({"KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT", "KAFKA_SASL_USERNAME": "u",
                         "KAFKA_SASL_PASSWORD": "p"}).client_settings()["CONSUMER_"]
    assert plain["SASL_MECHANISM"] == "PLAIN"  # kafka-python's and SINETStream's default
    assert plain["SASL_JAAS_CONFIG"].startswith("org.apache.kafka.common.security.plain.PlainLoginModule required ")
    assert not any(k.startswith("SSL_") for k in plain)
    tls = run_wrapper({"KAFKA_SECURITY_PROTOCOL": "SSL"}).client_settings()["PRODUCER_"]
    assert tls == {"SECURITY_PROTOCOL": "SSL"}  # the image's Java trust store


@pytest.mark.parametrize("env,message", [
    ({"KAFKA_SECURITY_PROTOCOL": "TLS"}, "KAFKA_SECURITY_PROTOCOL must be PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL, not 'TLS'"),
    ({"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_USERNAME": "u"}, "needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"),
    (dict(SASL_SSL_ENV, KAFKA_SASL_MECHANISM="GSSAPI"), "KAFKA_SASL_MECHANISM must be PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512, not 'GSSAPI'"),
    (dict(SASL_SSL_ENV, KAFKA_SASL_PASSWORD='a"b'), "cannot contain"),
    (SASL_SSL_ENV, "KAFKA_SSL_CA_FILE=/conf/kafka-ca.pem not found in the container"),
])
def test_wrapper_refuses_bad_security_settings(env, message):
    worker = run_wrapper(env)
    assert worker.returncode == 1
    assert message in worker.stderr
    assert 'a"b' not in worker.stderr and "broker-pass-never-shown" not in worker.stderr


def test_bootstrap_server_wrapper():
    cases = {
        "kafka.example.org": "kafka.example.org:9092",
        "kafka.example.org:19092": "kafka.example.org:19092",
        "k1,k2:9093,10.0.0.3": "k1:9092,k2:9093,10.0.0.3:9092",
    }
    for broker, expected in cases.items():
        worker = run_wrapper({"BROKER_HOSTNAME": broker})
        assert worker.returncode == 0, worker.stderr
        assert worker.stderr == ""
        assert worker.env["CONNECT_BOOTSTRAP_SERVERS"] == expected


def test_profiles_and_healthchecks():
    services = load_compose()["services"]
    assert services["minio"]["profiles"] == ["minio"]
    assert services["create-bucket"]["profiles"] == ["minio"]
    assert services["create-bucket"]["depends_on"]["minio"]["condition"] == "service_healthy"
    assert services["create-bucket-dir"]["profiles"] == ["files"]
    for name in ("kafka-connect", "minio"):
        assert services[name]["healthcheck"]["test"], name
    assert "curl" in " ".join(services["kafka-connect"]["healthcheck"]["test"])
    assert "./data:/data" in services["minio"]["volumes"]
    assert "./data:/data" in services["kafka-connect"]["volumes"]
    assert "./data:/data" in services["create-bucket-dir"]["volumes"]


def test_extra_hosts_example_present():
    with open(COMPOSE_FILE) as f:
        text = f.read()
    assert re.search(r"^\s*#\s*extra_hosts:\s*$", text, re.M)
    assert re.search(r'^\s*#\s*-\s*"kafka\.example\.org:192\.168\.1\.100"', text, re.M)


# ------------------------------------------------------------------ example_dot_env

def test_every_compose_variable_documented():
    def strings(node):
        if isinstance(node, dict):
            for k, v in node.items():
                yield str(k)
                yield from strings(v)
        elif isinstance(node, list):
            for v in node:
                yield from strings(v)
        elif isinstance(node, str):
            yield node

    # ${VAR}, ${VAR:-...}, ${VAR:?...} in keys and values (not comments);
    # $$ escapes are for the container shell
    text = "\n".join(strings(load_compose())).replace("$$", "")
    used = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", text))
    assert used, "no variables found"
    documented = example_env_entries()
    missing = sorted(v for v in used if v not in documented and v != "AWS_SECRET_ACCESS_KEY")
    assert not missing, "not in example_dot_env: %s" % missing
    # AWS_SECRET_ACCESS_KEY is documented as the alternative name of AWS_SECRET_KEY
    with open(EXAMPLE_ENV) as f:
        assert "AWS_SECRET_ACCESS_KEY" in f.read()


def test_every_register_setting_documented():
    with open(os.path.join(REPO, "register.sh")) as f:
        script = f.read()
    used = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", script))
    used |= set(re.findall(r"add_optional \S+ ([A-Z][A-Z0-9_]*)", script))
    used |= set(re.findall(r"for v in ([A-Z0-9_ ]+);", script)[0].split())
    assigned = set(re.findall(r"^\s*([A-Z][A-Z0-9_]*)=", script, re.M))
    runtime_only = {"ENV_FILE", "CONNECT_URL", "CONNECT_WAIT", "USE_JQ", "AWS_SECRET_ACCESS_KEY"}
    documented = example_env_entries()
    missing = sorted(v for v in used - assigned - runtime_only if v not in documented)
    assert not missing, "register.sh reads settings not in example_dot_env: %s" % missing


def test_example_env_keeps_seed_parameters():
    entries = example_env_entries()
    for name, value in SEED_PARAMETERS.items():
        assert name in entries, name
        if value is not None:
            assert value in entries[name], "%s: %s not in %s" % (name, value, entries[name])
    with open(EXAMPLE_ENV) as f:
        text = f.read()
    assert "us-east-1" in text
    assert "S3_ENDPOINT_URL=file:///data" in text
    assert "TIMEZONE=Asia/Tokyo" in text
    for name in ("SINETSTREAM_CONFIG_FILE", "SINETSTREAM_SERVICE", "SINETSTREAM_MESSAGE_FORMAT",
                 "SINETSTREAM_USER_DATA_ONLY", "SINETSTREAM_COMPRESSION", "SINETSTREAM_CRYPTO_MODE",
                 "SINETSTREAM_CRYPTO_KEY_LENGTH", "SINETSTREAM_CRYPTO_PASSWORD"):
        assert name in entries, name
    # required ones are active so that `cp example_dot_env .env` gives a complete file to edit
    active = active_example_env()
    for name in ("BROKER_HOSTNAME", "KAFKA_TOPIC", "AWS_ACCESS_KEY_ID", "AWS_SECRET_KEY", "S3_BUCKET_NAME"):
        assert name in active, name
