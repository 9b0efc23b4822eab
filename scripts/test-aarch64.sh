#!/usr/bin/env bash
# Loads the aarch64 engine for real: runs NativeRoundTripTest (JUnit 4, the packaged jar) in an
# arm64 JVM under qemu-user, through Gradle's testAarch64 task, which writes JUnit XML to
# build/test-results/testAarch64/. Prints "aarch64 round trip: PASS|FAIL ..." and exits 0 or 1.
#
# The arm64 JRE and libraries are unpacked from Debian's arm64 packages into a sysroot cached in
# ~/.cache/sinets3/arm64-sysroot instead of being installed with dpkg: installing
# openjdk-17-jre-headless:arm64 would upgrade the amd64 JDK to the same version (the packages are
# Multi-Arch: same) under every JVM running on the machine. Only qemu-user-static is installed.
# binfmt_misc is not mounted here, so the emulator is called explicitly (-L: the sysroot).
set -euo pipefail
# shellcheck source=scripts/env.sh
source "$(dirname "$0")/env.sh"
cd "$SINETS3_ROOT"
results=build/test-results/testAarch64
sysroot="$SINETS3_CACHE/arm64-sysroot"
packages=(libc6 libgcc-s1 libstdc++6 zlib1g openjdk-17-jre-headless)
rm -rf "$results"

say() { printf 'test-aarch64: %s\n' "$*" >&2; }

ensure_qemu() {
  command -v qemu-aarch64-static >/dev/null 2>&1 || apt_install qemu-user-static
}

# The candidate versions of the arm64 packages: the sysroot is rebuilt when they change.
wanted_versions() {
  local p
  for p in "${packages[@]}"; do
    printf '%s=%s\n' "$p" "$(apt-cache policy "$p:arm64" | sed -n 's/^ *Candidate: //p')"
  done
}

ensure_sysroot() {
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    say "adding the arm64 architecture to apt (package lists only; nothing arm64 is installed)"
    dpkg --add-architecture arm64
    "${APT_GET[@]}" update -qq
  fi
  local want
  want="$(wanted_versions)"
  if grep -q '=$\|=(none)$' <<<"$want"; then
    "${APT_GET[@]}" update -qq
    want="$(wanted_versions)"
  fi
  if [[ -x $sysroot/usr/lib/jvm/java-17-openjdk-arm64/bin/java && "$(cat "$sysroot.versions" 2>/dev/null)" == "$want" ]]; then
    return 0
  fi
  say "unpacking ${packages[*]} (arm64) into $sysroot"
  local debs tmp deb p link target
  debs="$SINETS3_CACHE/arm64-debs"
  mkdir -p "$debs"
  rm -f "$debs"/*.deb
  (cd "$debs" && "${APT_GET[@]}" -o APT::Sandbox::User=root download -q "${packages[@]/%/:arm64}" >/dev/null)
  tmp="$(mktemp -d "$SINETS3_CACHE/arm64-sysroot.XXXXXX")"
  for p in "${packages[@]}"; do
    for deb in "$debs/${p}_"*_arm64.deb; do
      dpkg-deb -x "$deb" "$tmp"
    done
  done
  # Absolute links (e.g. lib/jvm.cfg -> /etc/java-17-openjdk/jvm-arm64.cfg) must stay inside.
  while IFS= read -r -d '' link; do
    target="$(readlink "$link")"
    [[ $target == /* ]] && ln -sfn "$sysroot$target" "$link"
  done < <(find "$tmp" -type l -print0)
  rm -rf "$sysroot"
  mv "$tmp" "$sysroot"
  echo "$want" >"$sysroot.versions"
}

write_java_wrapper() {
  cat >"$SINETS3_CACHE/arm64-java" <<EOF
#!/usr/bin/env bash
# java for Gradle's testAarch64 task: the arm64 JRE of $sysroot under qemu-user.
exec qemu-aarch64-static -L "$sysroot" "$sysroot/usr/lib/jvm/java-17-openjdk-arm64/bin/java" "\$@"
EOF
  chmod +x "$SINETS3_CACHE/arm64-java"
}

ensure_qemu
ensure_sysroot
write_java_wrapper
"$SINETS3_CACHE/arm64-java" -XshowSettings:properties -version 2>&1 | grep -E 'os.arch|java.runtime.version' >&2

started=$SECONDS
status=0
gradle --no-daemon --console=plain -q testAarch64 -Psinets3.aarch64.java="$SINETS3_CACHE/arm64-java" || status=$?
python3 - "$results" "$status" "$((SECONDS - started))" <<'EOF'
import pathlib, sys
import xml.etree.ElementTree as ET
results, status, secs = pathlib.Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
tests = failed = 0
for f in sorted(results.glob("*.xml")):
    suite = ET.parse(f).getroot()
    tests += int(suite.get("tests", 0))
    failed += int(suite.get("failures", 0)) + int(suite.get("errors", 0))
ok = status == 0 and tests > 0 and failed == 0
print(f"aarch64 round trip: {'PASS' if ok else 'FAIL'} ({tests} tests, {failed} failed, "
      f"gradle exit {status}, {secs} s, arm64 JVM under qemu-user)")
sys.exit(0 if ok else 1)
EOF
