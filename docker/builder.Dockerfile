# Builder image: everything scripts/build.sh needs (Rust with cargo-zigbuild/zig for
# glibc-2.28-compatible libraries, JDK 17, Gradle), so the plugin can be built on a
# machine that has only Docker. The Kafka Connect image itself stays the stock one.
#
#   docker build -f docker/builder.Dockerfile -t sinets3-builder .
#   docker run --rm -v "$PWD":/src sinets3-builder
#
# Result: build/plugin/ in the checkout, owned by the checkout's owner. Optional caches
# for faster rebuilds: -v sinets3-cargo:/usr/local/cargo/registry -v sinets3-gradle:/root/.gradle
FROM rust:1.95.0-bookworm

ARG CARGO_ZIGBUILD_VERSION=0.24.1
ARG ZIGLANG_VERSION=0.17.1
ARG CBINDGEN_VERSION=0.29.4
ARG CARGO_ABOUT_VERSION=0.9.3

# JDK 17 and Debian's Gradle (the toolchain the build is tested with). Debian versions
# are not pinned: bookworm point releases replace them.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends openjdk-17-jdk-headless gradle cmake python3-venv \
 && rm -rf /var/lib/apt/lists/* \
 && ln -s "/usr/lib/jvm/java-17-openjdk-$(dpkg --print-architecture)" /usr/lib/jvm/java-17

# cargo-zigbuild with zig, both plugin targets, cbindgen (JNI signature check),
# cargo-about (third-party licence notices of the archive)
RUN python3 -m venv /opt/zigbuild \
 && /opt/zigbuild/bin/pip install --no-cache-dir \
      "cargo-zigbuild==${CARGO_ZIGBUILD_VERSION}" "ziglang==${ZIGLANG_VERSION}" \
 && rustup target add x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu \
 && cargo install --locked "cbindgen@${CBINDGEN_VERSION}" \
 && cargo install --locked --features cli "cargo-about@${CARGO_ABOUT_VERSION}" \
 && rm -rf /usr/local/cargo/registry \
 && git config --system --add safe.directory /src

# scripts/lib.sh java_home reads SINETS3_JAVA_HOME (without it: the JDK 17 of dpkg's architecture)
ENV JAVA_HOME=/usr/lib/jvm/java-17 \
    SINETS3_JAVA_HOME=/usr/lib/jvm/java-17 \
    PATH=/opt/zigbuild/bin:$PATH

COPY docker/builder-entrypoint.sh /usr/local/bin/sinets3-build
WORKDIR /src
ENTRYPOINT ["/usr/local/bin/sinets3-build"]
