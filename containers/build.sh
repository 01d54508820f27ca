#!/usr/bin/env bash
# Builds the three pod images with podman (run as root):
#   localhost/cdi-dataplane-importer:latest      (Containerfile.importer)
#   localhost/cdi-dataplane-uploadserver:latest  (Containerfile.uploadserver)
#   localhost/cdi-dataplane-cloner:latest        (Containerfile.cloner: CDI's CLONER_IMAGE)
# 1. Release binaries in <repo>/build-release (cdi-importer, cdi-uploadserver, cdi-cloner and, when their
#    targets exist, cdi-containerimage-server and cdi-image-size-detection), stripped copies staged.
# 2. The base: no image can be pulled, so it is assembled from Debian packages. Every ELF program the
#    pods run (our binaries, qemu-img, dash as sh, coreutils' cp) is traced to its shared libraries
#    on this host (ldd), those files are mapped to their packages (dpkg -S), exactly those packages
#    are fetched with `apt-get download` at the installed versions and unpacked with `dpkg-deb -x`,
#    and only the programs and their library closure (resolved again inside the unpacked packages)
#    are copied into a merged-/usr root with the CA bundle, /etc/passwd and /etc/group (uid/gid 107)
#    and a 1777 /tmp. No /scratch, no /data: the importer detects a missing scratch volume by
#    statfs("/scratch") failing (contract section 0). The root is checked in a chroot (every ELF's
#    closure with the root's own loader, qemu-img and sh -c cp run), packed into a tar with fixed
#    owners and mtimes and `podman import`ed. Tar and image are cached under the key of the package
#    list (with versions) and this script: /var/tmp/cdi-dataplane-base/base-<key>.tar.
# 3. The images FROM that base with `podman build --timestamp 0`, checked for missing libraries
#    inside the image, and their sizes printed.
# Env: CDI_BASE_CACHE (cache dir), CDI_RELEASE_DIR (build dir), CDI_SKIP_CMAKE=1 (binaries are built).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
build=${CDI_RELEASE_DIR:-$repo/build-release}
cache=${CDI_BASE_CACHE:-/var/tmp/cdi-dataplane-base}
importer_tag=localhost/cdi-dataplane-importer:latest
uploadserver_tag=localhost/cdi-dataplane-uploadserver:latest
cloner_tag=localhost/cdi-dataplane-cloner:latest
libdir=usr/lib/x86_64-linux-gnu

log() { echo "== $*" >&2; }
die() { echo "containers/build.sh: $*" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || die "run as root (podman import/build and the chroot check)"
for t in podman cmake ninja apt-get dpkg-deb readelf strip ldd tar sha256sum; do
  command -v "$t" >/dev/null || die "$t is not installed"
done

work=$(mktemp -d /var/tmp/cdi-images-XXXXXX)
trap 'rm -rf "$work"' EXIT

# ---- 1. release binaries -------------------------------------------------------------------------
if [[ ${CDI_SKIP_CMAKE:-0} != 1 ]]; then
  log "release build in $build"
  cmake -G Ninja -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=Release -DCDI_BUILD_TESTS=OFF \
    -DCDI_BUILD_BENCH=OFF >/dev/null
  targets=(cdi-importer cdi-uploadserver cdi-cloner)
  for t in cdi-containerimage-server cdi-image-size-detection; do
    ninja -C "$build" -t targets all 2>/dev/null | grep -q "^$t:" && targets+=("$t")
  done
  cmake --build "$build" --target "${targets[@]}" -- -j "$(nproc)"
fi
ctx=$work/context
mkdir -p "$ctx"
stage() { # build-relative path
  local src=$build/$1
  [[ -x $src ]] || { echo "   missing $src" >&2; return 1; }
  install -m 0755 "$src" "$ctx/$(basename "$1")"
  strip --strip-unneeded "$ctx/$(basename "$1")"
}
stage importer/cdi-importer
stage server/cdi-uploadserver
stage cloner/cdi-cloner
# The helpers are built by containers/tools/; Containerfile.importer copies them, so without them
# only the upload-server image can be built.
tools_ok=1
stage containers/tools/cdi-containerimage-server || tools_ok=0
stage containers/tools/cdi-image-size-detection || tools_ok=0

# ---- 2. the base ---------------------------------------------------------------------------------
host_programs=(/usr/bin/qemu-img /bin/dash /bin/cp)
owner() { # host file -> "package=version" (dpkg registers /lib/... paths; merged /usr resolves to /usr/lib/...)
  local p pkg
  for p in "$1" "$(realpath "$1")" "$(realpath "$1" | sed 's|^/usr/|/|')"; do
    pkg=$(dpkg -S "$p" 2>/dev/null | grep -v '^diversion' | head -n1 | cut -d: -f1) && [[ -n $pkg ]] && break
  done
  [[ -n $pkg ]] || die "no Debian package owns $1"
  dpkg-query -W -f '${Package}=${Version}\n' "$pkg"
}
packages() {
  local f lib
  {
    dpkg-query -W -f '${Package}=${Version}\n' ca-certificates
    for f in "${host_programs[@]}" "$ctx"/*; do
      [[ $f == "$ctx"/* ]] || owner "$f"
      { ldd "$f" 2>/dev/null || true; } | awk '/=> \// { print $3 } /^\t\/.*ld-linux/ { print $1 }' |
        while read -r lib; do owner "$lib"; done
    done
  } | sort -u
}
packages > "$work/packages"
mapfile -t pkgs < "$work/packages"

resolve_needed() { # pool elf... -> pool-relative paths of every library in the closure
  local pool=$1; shift
  local -A seen=()
  local queue=("$@") f so d found
  while ((${#queue[@]})); do
    f=${queue[0]}; queue=("${queue[@]:1}")
    for so in $(readelf -d "$f" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
      [[ -n ${seen[$so]:-} ]] && continue
      found=
      for d in lib/x86_64-linux-gnu usr/lib/x86_64-linux-gnu; do
        [[ -e $pool/$d/$so ]] && { found=$d/$so; break; }
      done
      [[ -n $found ]] || die "library $so (needed by $f) is in none of the downloaded packages"
      seen[$so]=$found
      echo "$found"
      queue+=("$(realpath "$pool/$found")")
    done
  done
}

assemble_base() {
  local debs=$cache/debs pool=$work/pool root=$work/root p f rel
  mkdir -p "$debs" "$pool" "$root"
  # apt-get download fetches as _apt where it can write (otherwise it warns and fetches as root).
  id _apt >/dev/null 2>&1 && chown _apt "$debs"
  log "downloading ${#pkgs[@]} packages into $debs"
  for p in "${pkgs[@]}"; do
    local name=${p%%=*} ver=${p#*=}
    local exact=$debs/${name}_${ver/:/%3a}_
    if ! compgen -G "$exact*.deb" >/dev/null; then
      # The installed version; if the index has moved on (a security update), its current one.
      (cd "$debs" && { apt-get download -qq "$p" 2>/dev/null || apt-get download -qq "$name" 2>/dev/null ||
        { apt-get update -qq && apt-get download -qq "$name"; }; }) || die "apt-get download $p failed"
    fi
    f=$(compgen -G "$exact*.deb" || ls "$debs/${name}_"*.deb | sort -V | tail -n1)
    dpkg-deb -x "$f" "$pool"
  done

  log "assembling the root"
  mkdir -p "$root"/{usr/bin,usr/sbin,"$libdir",usr/lib64,etc/ssl/certs,usr/lib/ssl,proc,sys,dev,tmp}
  ln -s usr/bin "$root/bin"; ln -s usr/sbin "$root/sbin"; ln -s usr/lib "$root/lib"; ln -s usr/lib64 "$root/lib64"
  chmod 1777 "$root/tmp"
  install -m 0755 "$pool/usr/bin/qemu-img" "$root/usr/bin/qemu-img"
  install -m 0755 "$pool/bin/dash" "$root/usr/bin/dash"
  ln -s dash "$root/usr/bin/sh"
  install -m 0755 "$pool/bin/cp" "$root/usr/bin/cp"
  # The loader and the closure of every program shipped here or added by the Containerfiles.
  ln -s ../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$root/usr/lib64/ld-linux-x86-64.so.2"
  resolve_needed "$pool" "$root"/usr/bin/{qemu-img,dash,cp} "$ctx"/* > "$work/closure"
  for rel in lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 $(sort -u "$work/closure"); do
    # Copy the soname link and the file it names, flattened into usr/lib/x86_64-linux-gnu.
    f=$pool/$rel
    if [[ -L $f ]]; then
      ln -sf "$(readlink "$f")" "$root/$libdir/$(basename "$rel")"
      f=$(realpath "$f")
    fi
    install -m 0644 "$f" "$root/$libdir/$(basename "$f")"
  done
  chmod 0755 "$root/$libdir"/ld-linux-x86-64.so.2
  # CA bundle: what update-ca-certificates builds from the default ca-certificates.conf (every
  # Mozilla certificate), at Debian's path, OpenSSL's default file and directory, and CDI's path.
  for f in $(find "$pool/usr/share/ca-certificates/mozilla" -name '*.crt' | LC_ALL=C sort); do
    cat "$f"; [[ $(tail -c1 "$f") == "" ]] || echo
  done > "$root/etc/ssl/certs/ca-certificates.crt"
  ln -s /etc/ssl/certs/ca-certificates.crt "$root/usr/lib/ssl/cert.pem"
  ln -s /etc/ssl/certs "$root/usr/lib/ssl/certs"
  mkdir -p "$root/etc/pki/ca-trust/extracted/pem"
  ln -s /etc/ssl/certs/ca-certificates.crt "$root/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem"
  printf 'root:x:0:0:root:/root:/bin/sh\ncdi:x:107:107:cdi-dataplane:/tmp:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' > "$root/etc/passwd"
  printf 'root:x:0:\ncdi:x:107:\nnogroup:x:65534:\n' > "$root/etc/group"
  printf 'passwd: files\ngroup: files\nhosts: files dns\n' > "$root/etc/nsswitch.conf"
  # The licences of the packages files were taken from; identical texts are hard links (one copy
  # in the tar: Boost's is 2 MiB).
  local -A by_hash=()
  local h
  for p in "${pkgs[@]}"; do
    f=$pool/usr/share/doc/${p%%=*}/copyright
    [[ -f $f ]] || continue
    mkdir -p "$root/usr/share/doc/${p%%=*}"
    h=$(sha256sum < "$f" | cut -d' ' -f1)
    if [[ -n ${by_hash[$h]:-} ]]; then
      ln "${by_hash[$h]}" "$root/usr/share/doc/${p%%=*}/copyright"
    else
      install -m 0644 "$f" "$root/usr/share/doc/${p%%=*}/copyright"
      by_hash[$h]=$root/usr/share/doc/${p%%=*}/copyright
    fi
  done
  printf '%s\n' "${pkgs[@]}" > "$root/usr/share/doc/cdi-dataplane-base.packages"

  log "checking the root in a chroot"
  local missing
  missing=$(find "$root/usr" -type f | while read -r f; do
      readelf -h "$f" >/dev/null 2>&1 || continue
      chroot "$root" /lib64/ld-linux-x86-64.so.2 --list "${f#"$root"}" 2>&1 | grep 'not found' | sed "s|^|${f#"$root"}: |"
    done || true)
  [[ -z $missing ]] || die "unresolved libraries in the base: $missing"
  chroot "$root" /usr/bin/qemu-img --version >/dev/null || die "qemu-img does not run in the base"
  chroot "$root" /bin/sh -c 'cp /etc/passwd /tmp/check' || die "sh -c cp does not run in the base"
  rm -f "$root/tmp/check"

  mkdir -p "$cache"
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$root" -cf "$base_tar.part" .
  mv "$base_tar.part" "$base_tar"
}

# The key: the package list with versions and the code that assembles the root.
key=$( (printf '%s\n' "${pkgs[@]}"; declare -f resolve_needed assemble_base) | sha256sum | cut -c1-16)
base_tag=localhost/cdi-dataplane-base:$key
base_tar=$cache/base-$key.tar
log "base $base_tag from ${#pkgs[@]} packages: ${pkgs[*]}"
if podman image exists "$base_tag"; then
  log "base $base_tag exists"
else
  [[ -f $base_tar ]] || assemble_base
  podman import -q "$base_tar" "$base_tag" >/dev/null
fi
echo "   base tar $(du -h --apparent-size "$base_tar" 2>/dev/null | cut -f1) ($base_tar)" >&2

# ---- 3. the three images ---------------------------------------------------------------------------
# This podman needs the runtime and explicit limits (the defaults exceed what the host allows).
run=(podman run --rm --runtime runc --network none --ulimit nofile=16384:16384 --ulimit nproc=4096:4096)
build_image() { # containerfile tag
  podman build -q --runtime runc --pull=never --timestamp 0 --build-arg "BASE=$base_tag" \
    -f "$here/$1" -t "$2" "$ctx" >/dev/null
  # Every ELF in the image resolves its libraries inside the image (the base's loader).
  local f out
  for f in $("${run[@]}" --entrypoint /bin/sh "$2" -c 'echo /usr/bin/cdi-*'); do
    out=$("${run[@]}" --entrypoint /lib64/ld-linux-x86-64.so.2 "$2" --list "$f" 2>&1 || true)
    if grep -q 'not found' <<<"$out"; then die "$2: $f: $(grep 'not found' <<<"$out" | tr '\n' ' ')"; fi
  done
}
log "building $uploadserver_tag"
build_image Containerfile.uploadserver "$uploadserver_tag"
log "building $cloner_tag"
build_image Containerfile.cloner "$cloner_tag"
if ((tools_ok)); then
  log "building $importer_tag"
  build_image Containerfile.importer "$importer_tag"
else
  die "cdi-containerimage-server / cdi-image-size-detection are not built: the importer image needs them"
fi
log "image sizes"
podman image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' |
  grep -E "^(localhost/cdi-dataplane-(importer|uploadserver|cloner):latest|$base_tag) "
