"""What the guides name, read out of them, and where each name must exist (see test_docs.py).

The guides are GUIDES below, in English and Japanese. From their Markdown this module takes the
shell commands of the code blocks (and of inline code that starts with one of our scripts), the
`.env` variables and connector keys they name, their links and their sections; from the
repository it takes what those names must match: each script's --help (or, for a script without
one, the usage comment at its top), example_dot_env, docs/configuration.md (generated from the
connector's ConfigDef and kept fresh by a Java test), docker-compose.yml and the explicit lists
below. Every check is a function of a root directory, so the tests can run it on a changed copy.
"""
import functools
import os
import re
import shlex
import shutil
import subprocess
import zipfile
from collections import Counter
from pathlib import Path

import yaml

GUIDES = ["README.md", "README.ja.md", "docs/user-guide.md", "docs/user-guide.ja.md", "example_dot_env"]
PAIRS = [("README.md", "README.ja.md"), ("docs/user-guide.md", "docs/user-guide.ja.md")]
# The English README's benchmark section is rewritten on its own and the Japanese one points to it,
# so parity skips what lies below these headings.
OWN_SECTIONS = ("Benchmark", "ベンチマーク")

SHELL_LANGS = {"console", "sh", "bash", "shell"}
OUR_SCRIPT = re.compile(r"^(?:\./(?:register|verify|quickstart)\.sh|(?:\./)?scripts/[\w.-]+)$")
VARIABLE = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+")
KEY = re.compile(r"[a-z][a-zA-Z0-9]*(?:\.[a-zA-Z0-9_*-]+)+")

NATIVE_LIBRARY_JAVA = "java-shim/src/main/java/org/sinetstream/kafka/connect/s3/NativeLibrary.java"

# Environment variables the guides name that are no .env setting: each with the file that reads
# it (so a rename there fails here), or None where the reader is outside this repository.
OTHER_VARIABLES = {
    "ENV_FILE": "register.sh",
    "CONNECT_URL": "register.sh",
    "CONNECT_WAIT": "register.sh",
    "CONNECTOR_PROPERTIES": "register.sh",
    "AWS_SECRET_ACCESS_KEY": "docker-compose.yml",
    "SINETS3_ALLOWED_PATHS": "rust-core/engine/src/allowed_paths.rs",
    "SINETS3_JAVA_HOME": "scripts/lib.sh",
    "SINETS3_NATIVE_DIR": NATIVE_LIBRARY_JAVA,
    "KAFKA_LIBS": "verify.sh",
    "KAFKA_HOME": "verify.sh",
    "JAVA_HOME": "verify.sh",
    "KAFKA_VERSION": "scripts/local-stack.sh",
    "QUICKSTART_WAIT": "quickstart.sh",
    "BENCH_STORE_TMPFS": "bench/bench.py",
    "HTTPS_PROXY": "docs/configuration.md",
    "HTTP_PROXY": "docs/configuration.md",
    "NO_PROXY": "docs/configuration.md",
    # Kafka's start scripts and the Confluent image read these.
    "KAFKA_OPTS": None,
    "KAFKA_JMX_PORT": None,
    "KAFKA_JMX_HOSTNAME": None,
}
# Values that look like variable names: protocols, storage classes.
VALUES = {"SASL_SSL", "SASL_PLAINTEXT", "STANDARD_IA", "INTELLIGENT_TIERING"}

# Kafka Connect's own keys of a sink connector (ConnectorConfig, SinkConnectorConfig): checked
# against connect-runtime's classes when its jar is in the cache (test_connect_keys_are_kafkas).
CONNECT_KEYS = {
    "name", "connector.class", "tasks.max", "topics", "key.converter", "value.converter", "transforms",
    "errors.tolerance", "errors.log.enable", "errors.deadletterqueue.topic.name",
    "errors.deadletterqueue.topic.replication.factor", "errors.deadletterqueue.context.headers.enable",
}
# Other dotted names the guides use that are no connector key, and what they are.
NOT_CONNECTOR_KEYS = {
    "advertised.listeners": "a broker setting",
    "plugin.path": "a worker setting",
    "javax.net.ssl.trustStore": "a JVM system property",
    "java.io.tmpdir": "a JVM system property",
    "sinets3.native.dir": "our JVM system property (NativeLibrary.java)",
    "sinetstream.sensor": "the seed's topic",
    "sinetstream.sensor.dlq": "a topic name",
    "xl.meta": "a file of MinIO's",
    "connector.context": "Kafka Connect's MDC key in log patterns",
    "e.g": "an abbreviation",
    # Confluent's keys, named as the ones this connector does not need.
    "format.class": "Confluent's", "storage.class": "Confluent's", "partitioner.class": "Confluent's",
}
FILE_ENDINGS = (".md", ".yml", ".yaml", ".json", ".properties", ".pem", ".txt", ".sh", ".jar", ".zip", ".so",
                ".bin", ".jpeg", ".jpg", ".png", ".p12", ".py", ".gradle", ".toml", ".rs", ".java",
                ".org", ".com", ".net", ".jp")


# ---------------------------------------------------------------- reading Markdown

class Guide:
    """A guide's lines, split into fenced code blocks and prose (example_dot_env: all comments)."""

    def __init__(self, root: Path, name: str):
        self.name = name
        self.path = root / name
        self.text = self.path.read_text(encoding="utf-8")
        self.blocks = []  # (language, first line number, lines)
        self.prose = []  # (line number, line)
        if name.endswith(".md"):
            self._split()
        else:
            self.prose = [(n, line.lstrip("#")) for n, line in enumerate(self.text.splitlines(), 1)
                          if line.startswith("#")]

    def _split(self):
        fence = None
        for n, line in enumerate(self.text.splitlines(), 1):
            stripped = line.strip()
            if fence is None:
                m = re.match(r"^(`{3,}|~{3,})\s*([\w-]*)", stripped)
                if m:
                    fence = m.group(1)
                    self.blocks.append((m.group(2), n + 1, []))
                else:
                    self.prose.append((n, line))
            elif stripped == fence:
                fence = None
            else:
                # shell and properties blocks inside list items are indented: drop the indentation
                lang = self.blocks[-1][0]
                self.blocks[-1][2].append(line.strip() if lang in SHELL_LANGS | {"properties"} else line)

    def where(self, line: int) -> str:
        return f"{self.name}:{line}"

    def inline_code(self):
        """(line, content) of every `inline code` span of the prose; a span may go on over a line
        break within its paragraph."""
        paragraph, starts = "", []
        for n, line in self.prose + [(0, "")]:
            if line.strip() and (not starts or starts[-1][1] == n - 1):
                starts.append((len(paragraph), n))
                paragraph += line + "\n"
                continue
            for m in re.finditer(r"`([^`]+)`", paragraph):
                first = max(line_n for offset, line_n in starts if offset <= m.start())
                yield first, " ".join(m.group(1).split("\n")).strip()
            paragraph, starts = (line + "\n", [(0, n)]) if line.strip() else ("", [])

    def headings(self):
        """(line, level, text) of the Markdown headings."""
        for n, line in self.prose:
            m = re.match(r"^(#{1,6})\s+(.*?)\s*#*\s*$", line)
            if m:
                yield n, len(m.group(1)), m.group(2)

    def without_own_sections(self):
        """Line numbers that lie outside OWN_SECTIONS (and their subsections)."""
        inside, level, skip = False, 0, set()
        heads = {n: (lv, t) for n, lv, t in self.headings()}
        for n in range(1, len(self.text.splitlines()) + 1):
            if n in heads:
                lv, title = heads[n]
                if inside and lv <= level:
                    inside = False
                if not inside and title.startswith(OWN_SECTIONS):
                    inside, level = True, lv
            if inside:
                skip.add(n)
        return lambda n: n not in skip


def guides(root: Path):
    return [Guide(root, name) for name in GUIDES]


# ---------------------------------------------------------------- shell commands

def block_commands(lines, first):
    """(line, command) of a shell code block: the `$ ` lines of a transcript, else every line;
    backslash and pipe continuations joined, here-documents skipped."""
    prompted = any(line.startswith("$ ") for line in lines)
    out, i, heredoc = [], 0, None
    while i < len(lines):
        line, n = lines[i], first + i
        i += 1
        if heredoc:
            heredoc = None if line.strip() == heredoc else heredoc
            continue
        if prompted:
            if not line.startswith("$ "):
                continue
            line = line[2:]
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        while (line.rstrip().endswith("\\") or line.rstrip().endswith("|")) and i < len(lines):
            line = line.rstrip().rstrip("\\") + " " + lines[i].strip()
            i += 1
        m = re.search(r"<<-?\s*['\"]?(\w+)['\"]?", line)
        if m:
            heredoc = m.group(1)
        out.append((n, line))
    return out


def commands(guide: Guide, keep=lambda n: True, inline=True):
    """(line, command) of every shell command of the guide's code blocks, and (with inline) of
    inline code that starts with one of our scripts or with `docker compose`."""
    found = []
    for lang, first, lines in guide.blocks:
        if lang in SHELL_LANGS and keep(first):
            found += block_commands(lines, first)
    if inline:
        for n, span in guide.inline_code():
            words = span.split()
            while words and re.match(r"^[A-Za-z_]\w*=", words[0]):
                words.pop(0)
            if words and (OUR_SCRIPT.match(words[0]) or words[:2] == ["docker", "compose"]) and keep(n):
                found.append((n, span))
    return found


def simple_commands(command: str):
    """The simple commands of a command line, as token lists (redirections dropped)."""
    lexer = shlex.shlex(command, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    try:
        tokens = list(lexer)
    except ValueError as e:
        raise ValueError(f"cannot parse {command!r}: {e}") from None
    out, current, skip_next = [], [], False
    for token in tokens:
        if skip_next:
            skip_next = False
        elif token in ("|", "||", "&&", ";", "&", "(", ")"):
            out.append(current)
            current = []
        elif set(token) <= set("<>&"):
            skip_next = True
        else:
            current.append(token)
    out.append(current)
    return [c for c in out if c]


def normalized(command: str) -> str:
    return " | ".join(" ".join(c) for c in simple_commands(command))


# ---------------------------------------------------------------- what scripts accept

def usage(root: Path, script: str):
    """(text, handles_help) of a script: the output of `--help` when it handles the option, else
    the comment at its top."""
    return _usage(root, script, (root / script).read_text(encoding="utf-8"))


@functools.lru_cache(maxsize=None)
def _usage(root: Path, script: str, source: str):
    path = root / script
    if re.search(r"^\s*(-h \| )?--help\)", source, re.M):
        result = subprocess.run(["bash", str(path), "--help"], cwd=root, capture_output=True, text=True,
                                timeout=30, env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                                                 "HOME": os.environ.get("HOME", "/tmp")},
                                stdin=subprocess.DEVNULL)
        if result.returncode == 0:
            return result.stdout + result.stderr, True
    header = []
    for line in source.splitlines()[1:]:
        if not line.startswith("#"):
            break
        header.append(line.lstrip("#"))
    return "\n".join(header), False


def options_of(text: str):
    """The options a usage text names, and those of them that take a value (`--opt NAME`)."""
    names = set(re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", text))
    valued = set(re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)[ =][A-Z][A-Z_]*\b", text))
    return names, valued


@functools.lru_cache(maxsize=None)
def compose_help(subcommand: str):
    if shutil.which("docker") is None:
        return None
    result = subprocess.run(["docker", "compose", subcommand, "--help"], capture_output=True, text=True, timeout=30)
    if result.returncode != 0:
        return None
    return result.stdout


def compose_file(root: Path):
    with open(root / "docker-compose.yml", encoding="utf-8") as f:
        return yaml.safe_load(f)


def script_problems(root: Path, where: str, tokens):
    problems = []
    program, args = tokens[0], tokens[1:]
    script = program[2:] if program.startswith("./") else program
    if not (root / script).is_file():
        return [f"{where}: {program}: no such script"]
    text, handles_help = usage(root, script)
    names, valued = options_of(text)
    positional_checked = not script.startswith("scripts/")
    skip = False
    for arg in args:
        if skip:
            skip = False
            continue
        if arg.startswith("-"):
            option = arg.split("=", 1)[0]
            if option in ("--help", "-h") and handles_help:
                continue
            if option not in names:
                problems.append(f"{where}: {program} {option}: not an option of {script} (its usage: "
                                f"{', '.join(sorted(n for n in names if n.startswith('--'))) or 'none'})")
            skip = option in valued and "=" not in arg
        elif not positional_checked:
            positional_checked = True
            if re.fullmatch(r"[a-z][a-z0-9-]*", arg) and not re.search(rf"(?<![\w-]){re.escape(arg)}(?![\w-])", text):
                problems.append(f"{where}: {program} {arg}: not a command its usage names")
    return problems


def command_problems(root: Path):
    problems = []
    compose = compose_file(root)
    services = set(compose["services"])
    profiles = {p for s in compose["services"].values() for p in s.get("profiles", [])}
    dotenv = dotenv_names(root)
    for guide in guides(root):
        for n, command in commands(guide):
            where = guide.where(n)
            try:
                parts = simple_commands(command)
            except ValueError as e:
                problems.append(f"{where}: {e}")
                continue
            for tokens in parts:
                env = []
                while tokens and re.match(r"^[A-Za-z_]\w*=", tokens[0]):
                    env.append(tokens.pop(0).split("=", 1)[0])
                if tokens[:1] and tokens[0] in ("bash", "sh") and len(tokens) > 1 and OUR_SCRIPT.match(tokens[1]):
                    tokens = tokens[1:]
                if not tokens:
                    continue
                if OUR_SCRIPT.match(tokens[0]):
                    problems += script_problems(root, where, tokens)
                    script = tokens[0][2:] if tokens[0].startswith("./") else tokens[0]
                    if (root / script).is_file():
                        text, _ = usage(root, script)
                        for name in env:
                            if name not in text and name not in dotenv and name not in OTHER_VARIABLES:
                                problems.append(f"{where}: {name}=... {tokens[0]}: {script} names no {name}")
                elif tokens[:2] == ["docker", "compose"]:
                    problems += compose_problems(where, tokens[2:], services, profiles)
    return problems


def compose_problems(where, args, services, profiles):
    problems, i = [], 0
    while i < len(args) and args[i].startswith("-"):
        if args[i] == "--profile" and i + 1 < len(args):
            if args[i + 1] not in profiles:
                problems.append(f"{where}: docker compose --profile {args[i + 1]}: no such profile in "
                                f"docker-compose.yml ({', '.join(sorted(profiles))})")
            i += 2
        elif args[i] in ("-f", "--file", "--env-file", "-p", "--project-name"):
            i += 2
        else:
            i += 1
    if i >= len(args):
        return problems
    sub, rest = args[i], args[i + 1:]
    help_text = compose_help(sub)
    valued = {"--entrypoint", "-e", "--env", "-u", "--user", "-w", "--workdir", "--name", "--format",
              "--filter", "--status", "--tail", "--since", "--until", "--index", "--profile"}
    j = 0
    while j < len(rest) and rest[j].startswith("-"):
        option = rest[j].split("=", 1)[0]
        if help_text is not None and not re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", help_text):
            problems.append(f"{where}: docker compose {sub} {option}: not in `docker compose {sub} --help`")
        j += 2 if option in valued and "=" not in rest[j] else 1
    if sub in ("up", "run", "exec", "logs", "restart", "stop", "start", "rm", "create") and j < len(rest):
        if rest[j] not in services:
            problems.append(f"{where}: docker compose {sub} {rest[j]}: no such service in docker-compose.yml")
    return problems


# Options the guides name on their own (`--status`), of other programs than our scripts.
OTHER_OPTIONS = {
    "--profile": "docker compose", "--force-recreate": "docker compose up", "--rm": "docker compose run",
    "--entrypoint": "docker compose run",
}


def lone_option_problems(root: Path):
    """Options named alone in inline code (`--two-connectors`) must be an option of one of our
    scripts (or one listed in OTHER_OPTIONS)."""
    known = set()
    scripts = ["register.sh", "verify.sh", "quickstart.sh"] + [str(p.relative_to(root)) for p in
                                                               sorted((root / "scripts").glob("*.sh"))
                                                               + sorted(root.glob("bench/*.sh"))]
    for script in scripts:
        known |= options_of(usage(root, script)[0])[0]
    problems = []
    for guide in guides(root):
        for n, span in guide.inline_code():
            m = re.fullmatch(r"(--[a-z][\w-]*)(?:[ =]\S+)?", span)
            if m and m.group(1) not in known and m.group(1) not in OTHER_OPTIONS:
                problems.append(f"{guide.where(n)}: {m.group(1)}: an option of none of our scripts")
    return problems


# ---------------------------------------------------------------- variables and keys

def dotenv_names(root: Path):
    """The settings of example_dot_env: its NAME= and #NAME= lines."""
    names = set()
    for line in (root / "example_dot_env").read_text(encoding="utf-8").splitlines():
        m = re.match(r"^#?([A-Z][A-Z0-9_]*)=", line.strip())
        if m:
            names.add(m.group(1))
    return names


def named_variables(guide: Guide):
    """(line, name) of every variable-like name in the guide, prose and code alike ("NAME*" for a
    wildcard)."""
    lines = guide.text.splitlines()
    skipped = {n for lang, first, block in guide.blocks if lang in ("json", "mermaid")
               for n in range(first, first + len(block))}
    for n, line in enumerate(lines, 1):
        if n in skipped:
            continue
        for m in re.finditer(rf"(?<![\w$.-])({VARIABLE.pattern})(\*?)(?![\w-])", line):
            yield n, m.group(1) + m.group(2)


def unknown_names(root: Path, named, known, listed, what: str):
    """Problems for the names the guides give (named(guide) yields (line, name)) that are neither
    known nor listed; a wildcard "prefix*" needs a name that starts with the prefix."""
    problems = []
    for guide in guides(root):
        for n, name in named(guide):
            if name.endswith("*"):
                prefix = name[:-1]
                if not any(k.startswith(prefix) or k + "." == prefix for k in known | listed):
                    problems.append(f"{guide.where(n)}: {name}: nothing starts with {prefix}")
            elif name not in known and name not in listed:
                problems.append(f"{guide.where(n)}: {name}: {what}")
    return problems


def variable_problems(root: Path):
    problems = unknown_names(root, named_variables, dotenv_names(root), set(OTHER_VARIABLES) | VALUES,
                             "not a setting of example_dot_env, nor a variable listed in tests/docs/guides.py")
    for name, reader in OTHER_VARIABLES.items():
        if reader and name not in (root / reader).read_text(encoding="utf-8"):
            problems.append(f"tests/docs/guides.py: {name} is said to be read by {reader}, which does not name it")
    return problems

def config_keys(root: Path):
    """The connector's keys: the first column of docs/configuration.md's tables."""
    text = (root / "docs/configuration.md").read_text(encoding="utf-8")
    return set(re.findall(r"^\| `([^`]+)` \|", text, re.M))


def candidate_key(span: str):
    key = re.split(r"=|: ", span, maxsplit=1)[0].strip()
    if not KEY.fullmatch(key) or key.endswith(FILE_ENDINGS) or re.match(r"^v\d", key):
        return None
    if key.startswith(("org.", "com.", "io.")):
        return None  # Java packages, classes and loggers
    return key


def named_keys(guide: Guide):
    """(line, key) of the connector keys a guide names: inline code, properties blocks, and for
    example_dot_env the words of its comments."""
    if guide.name.endswith(".md"):
        for n, span in guide.inline_code():
            key = candidate_key(span)
            if key:
                yield n, key
        for lang, first, lines in guide.blocks:
            if lang == "properties":
                for i, line in enumerate(lines):
                    if line.strip() and not line.lstrip().startswith("#"):
                        key = candidate_key(line)
                        if key:
                            yield first + i, key
    else:
        for n, line in guide.prose:
            for word in re.findall(r"[\w.*-]+(?:=\S*)?", line):
                key = candidate_key(word.rstrip(".,"))
                if key:
                    yield n, key


def key_problems(root: Path):
    problems = unknown_names(root, named_keys, config_keys(root), CONNECT_KEYS | set(NOT_CONNECTOR_KEYS),
                             "not a key of docs/configuration.md (the ConfigDef), nor a Kafka Connect key "
                             "listed in tests/docs/guides.py")
    if '"sinets3.native.dir"' not in (root / NATIVE_LIBRARY_JAVA).read_text(encoding="utf-8"):
        problems.append("sinets3.native.dir: NativeLibrary.java no longer reads this property")
    return problems

def stack_kafka_version(root: Path) -> str:
    """The Kafka version the stack runs, named once in scripts/lib.sh."""
    lib = (root / "scripts/lib.sh").read_text(encoding="utf-8")
    return re.search(r"^STACK_KAFKA_VERSION=(\S+)$", lib, re.M).group(1)


def connect_runtime_jar(root: Path):
    cache = Path(os.environ.get("SINETS3_CACHE", Path.home() / ".cache/sinets3"))
    jars = sorted(cache.glob(f"kafka-{stack_kafka_version(root)}/libs/connect-runtime-*.jar"))
    return jars[0] if jars else None


def connect_keys_missing_from(jar: Path):
    with zipfile.ZipFile(jar) as z:
        classes = b"".join(z.read(f"org/apache/kafka/connect/runtime/{c}.class")
                           for c in ("ConnectorConfig", "SinkConnectorConfig"))
    return sorted(k for k in CONNECT_KEYS if k.encode() not in classes)


# ---------------------------------------------------------------- links

def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(guide: Guide):
    seen, out = Counter(), set()
    for _, _, title in guide.headings():
        base = slug(title)
        out.add(base if not seen[base] else f"{base}-{seen[base]}")
        seen[base] += 1
    return out


def link_problems(root: Path):
    problems = []
    for guide in guides(root):
        if not guide.name.endswith(".md"):
            continue
        for n, line in guide.prose:
            for target in re.findall(r"\]\(([^)\s]+)\)", line):
                if re.match(r"^[a-z]+:", target):
                    continue
                path, _, anchor = target.partition("#")
                file = (guide.path.parent / path).resolve() if path else guide.path
                if not file.exists():
                    problems.append(f"{guide.where(n)}: link to {target}: {path} does not exist")
                elif anchor and file.suffix == ".md":
                    if anchor not in anchors(Guide(root, str(file.relative_to(root.resolve())))):
                        problems.append(f"{guide.where(n)}: link to {target}: no heading #{anchor} there")
    return problems


# ---------------------------------------------------------------- English and Japanese

def structure(guide: Guide):
    """The headings outside OWN_SECTIONS: level and section number ("4.1.1"), if any."""
    keep = guide.without_own_sections()
    out = []
    for n, level, title in guide.headings():
        if keep(n) or title.startswith(OWN_SECTIONS):
            number = re.match(r"^([\d.]+\d)\.?\s", title)
            out.append((level, number.group(1) if number else ""))
    return out


def parity_problems(root: Path):
    problems = []
    for en_name, ja_name in PAIRS:
        en, ja = Guide(root, en_name), Guide(root, ja_name)
        en_s, ja_s = structure(en), structure(ja)
        if en_s != ja_s:
            problems.append(f"{en_name} and {ja_name} differ in their sections: {len(en_s)} against {len(ja_s)} "
                            f"headings, first difference at heading "
                            f"{next((i for i, (a, b) in enumerate(zip(en_s, ja_s)) if a != b), min(len(en_s), len(ja_s)))}")
        en_c = Counter(normalized(c) for _, c in commands(en, en.without_own_sections(), inline=False))
        ja_c = Counter(normalized(c) for _, c in commands(ja, ja.without_own_sections(), inline=False))
        for command in sorted((en_c - ja_c).keys()):
            problems.append(f"{en_name} runs `{command}`, which {ja_name} does not")
        for command in sorted((ja_c - en_c).keys()):
            problems.append(f"{ja_name} runs `{command}`, which {en_name} does not")
        en_keep, ja_keep = en.without_own_sections(), ja.without_own_sections()
        for what, names in (("key", named_keys), ("variable", named_variables)):
            en_n = {k for n, k in names(en) if en_keep(n)}
            ja_n = {k for n, k in names(ja) if ja_keep(n)}
            for k in sorted(en_n - ja_n):
                problems.append(f"{en_name} names the {what} {k}, which {ja_name} does not")
            for k in sorted(ja_n - en_n):
                problems.append(f"{ja_name} names the {what} {k}, which {en_name} does not")
    return problems
