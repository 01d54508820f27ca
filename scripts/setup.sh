#!/usr/bin/env bash
# Installs every Debian package the build, the tests and the bench need. Idempotent: when all the
# packages are already installed it only checks and returns (no apt-get update, no network).
set -euo pipefail

packages=(
  # toolchain and build
  build-essential cmake ninja-build pkg-config git
  # libraries (Boost 1.81 from its split packages: libboost-all-dev is 1.74 and conflicts)
  libboost1.81-dev libboost-url1.81-dev libboost-json1.81-dev
  libssl-dev libarchive-dev zlib1g-dev libisal-dev liblzma-dev libzstd-dev libsnappy-dev
  libspdlog-dev libfmt-dev libgtest-dev libgmock-dev libbenchmark-dev
  # peers used by tests and the bench
  qemu-utils curl openssl ca-certificates nginx-light apache2-utils docker-registry skopeo
  xz-utils zstd pigz gzip tar python3 python3-snappy python3-crc32c python3-cryptography util-linux e2fsprogs coreutils procps time
  nbdkit gnuplot-nox fio
  # the FUSE filesystem that fails on command (tests/support/faulty_fs.cpp, storage fault tests)
  libfuse3-dev
  # the libFuzzer harnesses (fuzz/run.sh): Debian 12's clang 16, its libFuzzer and sanitizer runtimes
  clang-16 libfuzzer-16-dev libclang-rt-16-dev
  # the pod images (issue 7): built and run with podman as root
  podman runc slirp4netns containernetworking-plugins iptables
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "setup: installing ${#missing[@]} package(s): ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  # nginx and docker-registry must not start as system services: tests start their own on free ports.
  "${sudo_cmd[@]}" sh -c 'printf "#!/bin/sh\nexit 101\n" > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d'
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
  "${sudo_cmd[@]}" rm -f /usr/sbin/policy-rc.d
else
  echo "setup: all ${#packages[@]} packages already installed"
fi
