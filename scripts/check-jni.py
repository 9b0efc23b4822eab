#!/usr/bin/env python3
"""Fails the build when the Java native methods and the Rust exports disagree.

Compares three views of the JNI boundary:
  1. the C header `javac -h` writes from the Java `native` declarations,
  2. the header cbindgen writes from the Rust `extern "C"` exports (jni crate type names
     mapped to their C names),
  3. the `Java_*` symbols each built library really exports.
A renamed or retyped native method then breaks the build instead of a running worker.

usage: check-jni.py JAVAC_HEADER_DIR NATIVE_DIR STAMP_FILE
"""
import pathlib
import re
import shutil
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
JNI_CRATE = ROOT / "rust-core" / "jni"
RUST_TO_C = {
    "JNIEnv": "JNIEnv *",
    "JClass": "jclass",
    "JString": "jstring",
    "JByteArray": "jbyteArray",
    "JByteBuffer": "jobject",
    "JObjectArray": "jobjectArray",
    "JObject": "jobject",
}


def normalize(c_type):
    c_type = " ".join(c_type.replace("*", " * ").split())
    return RUST_TO_C.get(c_type, c_type).replace(" *", " *")


def javac_signatures(header_dir):
    text = "\n".join(p.read_text() for p in sorted(pathlib.Path(header_dir).glob("*.h")))
    pattern = re.compile(r"JNIEXPORT\s+(\w+)\s+JNICALL\s+(Java_\w+)\s*\(([^)]*)\)\s*;")
    return {
        name: (ret, tuple(normalize(t) for t in params.split(",")))
        for ret, name, params in pattern.findall(text)
    }


def cbindgen_signatures():
    cbindgen = shutil.which("cbindgen")
    if cbindgen is None:
        print("installing cbindgen with cargo", file=sys.stderr)
        subprocess.run(["cargo", "install", "--locked", "--quiet", "cbindgen"], check=True)
        cbindgen = shutil.which("cbindgen") or str(pathlib.Path.home() / ".cargo/bin/cbindgen")
    header = subprocess.run(
        [cbindgen, "--quiet", "--config", str(JNI_CRATE / "cbindgen.toml"), "--crate", "s3sink-jni",
         "--lang", "c", str(JNI_CRATE)],
        check=True, capture_output=True, text=True, cwd=ROOT,
    ).stdout
    pattern = re.compile(r"(\w+)\s+(Java_\w+)\s*\(([^)]*)\)\s*;")
    signatures = {}
    for ret, name, params in pattern.findall(" ".join(header.split())):
        types = tuple(normalize(p.rsplit(" ", 1)[0]) for p in params.split(","))
        signatures[name] = (ret, types)
    return signatures


def exported_symbols(library):
    out = subprocess.run(["readelf", "-W", "--dyn-syms", str(library)], check=True,
                         capture_output=True, text=True).stdout
    return {word for word in out.split() if word.startswith("Java_")}


def main():
    header_dir, native_dir, stamp = sys.argv[1:4]
    java = javac_signatures(header_dir)
    rust = cbindgen_signatures()
    problems = []
    if not java:
        problems.append(f"no native methods found in {header_dir}")
    for name in sorted(set(java) | set(rust)):
        if name not in rust:
            problems.append(f"{name}: declared native in Java, not exported by rust-core/jni")
        elif name not in java:
            problems.append(f"{name}: exported by rust-core/jni, no Java native method")
        elif java[name] != rust[name]:
            problems.append(f"{name}: Java expects {java[name]}, Rust has {rust[name]}")
    libraries = sorted(pathlib.Path(native_dir).glob("*/libsinets3sink.so"))
    if not libraries:
        problems.append(f"no native libraries under {native_dir}")
    for library in libraries:
        missing = set(java) - exported_symbols(library)
        problems.extend(f"{library}: does not export {name}" for name in sorted(missing))
    if problems:
        print("JNI boundary check failed:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1
    print(f"JNI boundary check: {len(java)} native methods match in Java, Rust and "
          f"{len(libraries)} libraries")
    pathlib.Path(stamp).write_text("ok\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
