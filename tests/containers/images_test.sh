#!/usr/bin/env bash
# Builds the three pod images with containers/build.sh and runs them under podman the way CDI's
# controller runs the pods (uid 107, every capability dropped, no privilege escalation, the env of
# contract sections 1.1 and 6.1, the volumes at /data, /scratch, /etc/tls, /dev/cdi-block-volume and
# /dev/termination-log). Run as root. Exits 0 with "SKIP: <reason>" when podman cannot run
# containers here, non-zero on any failure. Cases:
#   image     no /scratch, no /data, user 107, the entrypoints, /tmp 1777, sh + cp, the helpers
#   upload    the upload-server image: a qcow2 over mutual TLS onto /data (scratch mounted)
#   block     the same upload onto a loop device passed as /dev/cdi-block-volume
#   clone     the cloner image streaming a filesystem volume to the upload-server image (mTLS)
#   import    the importer image against nginx on the host: target, termination message, metrics
#             scraped while nginx serves slowly; a qcow2 without /scratch decoded as it arrives
#   helpers   cdi-image-size-detection and `sh -c "cp cdi-containerimage-server /shared/server"`
# Networking: the upload server gets its own network namespace (slirp4netns) with 8443 published on
# 127.0.0.1; the importer uses the host's network, so nginx and its metrics endpoint stay on
# 127.0.0.1 (its :8443 must be free on the host).
# CDI_RELEASE_DIR and CDI_SKIP_CMAKE=1 pass through to containers/build.sh (reuse a built tree).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
importer=localhost/cdi-dataplane-importer:latest
uploadserver=localhost/cdi-dataplane-uploadserver:latest
cloner=localhost/cdi-dataplane-cloner:latest
client_name=client.upload-server.cdi.kubevirt.io

skip() { echo "SKIP: $*"; exit 0; }
fail() { echo "FAIL: $*" >&2; exit 1; }
pass_count=0
pass() { pass_count=$((pass_count + 1)); echo "ok $pass_count - $*"; }

[[ $(id -u) -eq 0 ]] || skip "needs root (podman, loop devices)"
command -v podman >/dev/null || skip "podman is not installed"
for t in curl qemu-img nginx losetup openssl /usr/bin/python3; do
  command -v "$t" >/dev/null || fail "$t is not installed"
done

work=$(mktemp -d /var/tmp/cdi-images-test-XXXXXX)
chmod 0755 "$work"
containers=()
loopdev=
loop_owner=
nginx_pid=
cleanup() {
  local c
  for c in "${containers[@]}"; do podman rm -f -t 0 "$c" >/dev/null 2>&1 || true; done
  [[ -n $nginx_pid ]] && kill "$nginx_pid" 2>/dev/null && wait "$nginx_pid" 2>/dev/null
  [[ -n $loop_owner ]] && chown "$loop_owner" "$loopdev" 2>/dev/null
  [[ -n $loopdev ]] && losetup -d "$loopdev" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# This podman needs the runtime and explicit limits (its defaults exceed what the host allows).
run=(podman run --runtime runc --ulimit nofile=16384:16384 --ulimit nproc=4096:4096)
pod_security=(--user 107:107 --cap-drop=all --security-opt no-new-privileges)

# Can podman run a container at all here? A static program in a bare root says so without the images.
mkdir -p "$work/probe"
cp /sbin/ldconfig "$work/probe/probe"
if ! out=$("${run[@]}" --rm --network none --rootfs "$work/probe" /probe --version 2>&1); then
  skip "podman cannot run containers here: $(head -n1 <<<"$out")"
fi

echo "== building the images (containers/build.sh)"
bash "$repo/containers/build.sh" 2>&1 | sed 's/^/   /'
((PIPESTATUS[0] == 0)) || fail "containers/build.sh failed"

free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
wait_exit() { # container timeout-seconds -> prints the exit code
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    [[ $(podman inspect -f '{{.State.Status}}' "$1") == exited ]] && break
    sleep 0.1
  done
  podman inspect -f '{{.State.ExitCode}}' "$1"
}
on_failure_logs() { echo "--- logs of $1:" >&2; podman logs "$1" >&2 || true; }

# ---- image ---------------------------------------------------------------------------------------
for image in "$importer" "$uploadserver" "$cloner"; do
  user=$(podman image inspect -f '{{.Config.User}}' "$image")
  entry=$(podman image inspect -f '{{json .Config.Entrypoint}}' "$image")
  [[ $user == 107 ]] || fail "$image runs as '$user', not 107"
  case $image in
    "$importer") want='["/usr/bin/cdi-importer","-alsologtostderr"]' ;;
    "$cloner") want='["/usr/bin/cdi-cloner","-alsologtostderr"]' ;;
    *) want='["/usr/bin/cdi-uploadserver","-alsologtostderr"]' ;;
  esac
  [[ $entry == "$want" ]] || fail "$image entrypoint is $entry, not $want"
  c=$(podman create --runtime runc "$image")
  containers+=("$c")
  podman export "$c" | tar -tv > "$work/listing"
  podman rm "$c" >/dev/null
  grep -qE ' (\./)?(scratch|data)(/|$)' "$work/listing" && fail "$image contains /scratch or /data"
  grep -qE '^drwxrwxrwt .* (\./)?tmp/?$' "$work/listing" || fail "$image has no 1777 /tmp"
  files=(usr/bin/sh usr/bin/cp usr/bin/qemu-img etc/ssl/certs/ca-certificates.crt etc/passwd etc/group)
  [[ $image == "$importer" ]] && files+=(usr/bin/cdi-containerimage-server usr/bin/cdi-image-size-detection)
  for f in "${files[@]}"; do
    grep -qE " (\./)?$f( |$)" "$work/listing" || fail "$image lacks /$f"
  done
  # As the pod runs it: uid 107 (from /proc, no id(1) in the image), /tmp writable, sh + cp work.
  out=$("${run[@]}" --rm --network none "${pod_security[@]}" --entrypoint /bin/sh "$image" -c '
    while read -r k v _; do [ "$k" = Uid: ] && echo "uid=$v"; done < /proc/self/status
    cp /etc/passwd /tmp/passwd && [ -s /tmp/passwd ] && echo tmp-writable
    [ -e /scratch ] || [ -e /data ] || echo no-scratch-no-data
    /usr/bin/qemu-img --version | { read -r line; echo "$line"; }')
  grep -q '^uid=107$' <<<"$out" || fail "$image: not uid 107: $out"
  grep -q '^tmp-writable$' <<<"$out" || fail "$image: /tmp not writable: $out"
  grep -q '^no-scratch-no-data$' <<<"$out" || fail "$image: /scratch or /data exists: $out"
  grep -q '^qemu-img version' <<<"$out" || fail "$image: qemu-img does not run: $out"
  pass "$image: user 107, entrypoint $entry, no /scratch or /data, 1777 /tmp, sh, cp, qemu-img"
done

# ---- the disk used by the upload cases -----------------------------------------------------------
mkdir -p "$work/src"
qemu-img create -q -f raw "$work/src/disk.raw" 24M
for off in 0 3 9 17 23; do # data at a few MiB offsets, holes between
  head -c 524288 /dev/urandom | dd of="$work/src/disk.raw" bs=1M seek="$off" conv=notrunc status=none
done
qemu-img convert -q -f raw -O qcow2 "$work/src/disk.raw" "$work/src/disk.qcow2"
qemu-img convert -q -f qcow2 -O raw "$work/src/disk.qcow2" "$work/src/expected.raw"

mkdir -p "$work/pki"
bash "$repo/scripts/make-upload-pki.sh" "$work/pki"
# The secret as kubelet mounts it with fsGroup 107: tls.key, tls.crt, ca.crt readable by group 107.
mkdir -p "$work/secret"
cp "$work/pki"/{tls.key,tls.crt,ca.crt} "$work/secret/"
chown -R 0:107 "$work/secret"
chmod 0750 "$work/secret"
chmod 0640 "$work/secret"/*

upload_env=(-e TLS_KEY_FILE=/etc/tls/tls.key -e TLS_CERT_FILE=/etc/tls/tls.crt
  -e CLIENT_CERT_FILE=/etc/tls/ca.crt -e "CLIENT_NAME=$client_name" -e UPLOAD_IMAGE_SIZE=32Mi
  -e PREALLOCATION=false -e TLS_MIN_VERSION=VersionTLS12
  -e "TLS_CIPHERS=TLS_AES_128_GCM_SHA256,TLS_AES_256_GCM_SHA384,TLS_CHACHA20_POLY1305_SHA256,ECDHE-ECDSA-AES128-GCM-SHA256,ECDHE-RSA-AES128-GCM-SHA256,ECDHE-ECDSA-AES256-GCM-SHA384,ECDHE-RSA-AES256-GCM-SHA384"
  -e "DEADLINE=$(date -u -d '+10 min' +%Y-%m-%dT%H:%M:%SZ)")

start_server() { # name extra-podman-args... ; starts the upload server, sets $c and $port once it is ready
  local name=$1; shift
  port=$(free_port)
  : > "$work/$name.termination-log"
  chown 107:107 "$work/$name.termination-log"
  mkdir -p "$work/$name.scratch"
  chown 107:107 "$work/$name.scratch"
  c=$("${run[@]}" -d --name "cdi-images-test-$name-$$" "${pod_security[@]}" \
    --network slirp4netns -p "127.0.0.1:$port:8443" \
    -v "$work/secret:/etc/tls:ro" -v "$work/$name.scratch:/scratch" \
    -v "$work/$name.termination-log:/dev/termination-log" "${upload_env[@]}" "$@" "$uploadserver" -v=1)
  containers+=("$c")
  local i
  for ((i = 0; i < 100; i++)); do
    curl -sf --cacert "$work/pki/ca.crt" "https://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
    sleep 0.2
  done
  ((i < 100)) || { on_failure_logs "$c"; fail "$name: the upload server did not become ready"; }
}

upload() { # name extra-podman-args... ; uploads disk.qcow2, leaves the exit code in $work/<name>.rc
  local name=$1; shift
  local code
  start_server "$name" "$@"
  code=$(curl -sS -o "$work/$name.response" -w '%{http_code}' --cacert "$work/pki/ca.crt" \
    --cert "$work/pki/client.crt" --key "$work/pki/client.key" \
    --data-binary @"$work/src/disk.qcow2" "https://127.0.0.1:$port/v1beta1/upload")
  [[ $code == 200 ]] || { on_failure_logs "$c"; fail "$name: HTTP $code $(cat "$work/$name.response")"; }
  rc=$(wait_exit "$c" 30)
  [[ $rc == 0 ]] || { on_failure_logs "$c"; fail "$name: the upload server exited $rc"; }
  [[ -z $(ls -A "$work/$name.scratch") ]] || fail "$name: scratch not cleaned: $(ls -A "$work/$name.scratch")"
}

# ---- upload onto /data ---------------------------------------------------------------------------
mkdir -p "$work/upload.data"
chown 107:107 "$work/upload.data"
upload upload -v "$work/upload.data:/data" -e FILESYSTEM_OVERHEAD=0.055
[[ $(stat -c %u "$work/upload.data/disk.img") == 107 ]] || fail "upload: disk.img is not owned by 107"
qemu-img compare -q -f raw -F raw "$work/src/expected.raw" "$work/upload.data/disk.img" ||
  fail "upload: /data/disk.img differs from qemu-img convert of the upload"
pass "upload: qcow2 over mTLS onto /data equals qemu-img convert ($(stat -c %s "$work/upload.data/disk.img") bytes), scratch cleaned, termination message: $(cat "$work/upload.termination-log")"

# ---- upload onto a block device ------------------------------------------------------------------
truncate -s 40M "$work/block.img"
loopdev=$(losetup -f --show "$work/block.img")
# The device node in the container copies the host node's owner and mode. Clusters give it to the
# pod's user (containerd/CRI-O device_ownership_from_security_context, which CDI's block volumes
# with runAsUser 107 rely on); here the host node is handed to 107 for the run and restored after.
loop_owner=$(stat -c %u:%g "$loopdev")
chown 107:107 "$loopdev"
upload block --device "$loopdev:/dev/cdi-block-volume" -e DESTINATION=/dev/cdi-block-volume \
  -e FILESYSTEM_OVERHEAD=0
qemu-img compare -q -f raw -F raw "$work/src/expected.raw" "$loopdev" ||
  fail "block: $loopdev differs from qemu-img convert of the upload"
pass "block: the same upload onto $loopdev as /dev/cdi-block-volume equals qemu-img convert, termination message: $(cat "$work/block.termination-log")"
chown "$loop_owner" "$loopdev"
loop_owner=
losetup -d "$loopdev"
loopdev=

# ---- host-assisted clone between two containers ------------------------------------------------
# The source pod as CDI's clone controller builds it: no command or arguments, the PEM secrets in
# the environment, the source volume read-only at /var/run/cdi/clone/source; the target is the
# upload-server image with CLIENT_NAME the client certificate's name.
mkdir -p "$work/clone.src/dir" "$work/clone.data"
cp --sparse=always "$work/src/disk.raw" "$work/clone.src/disk.img"
echo hello > "$work/clone.src/dir/file"
ln -s dir/file "$work/clone.src/link"
chmod -R go+rX "$work/clone.src"
chown 107:107 "$work/clone.data"
start_server clone -v "$work/clone.data:/data"
: > "$work/cloner.termination-log"
chown 107:107 "$work/cloner.termination-log"
cc=$("${run[@]}" -d --name "cdi-images-test-cloner-$$" "${pod_security[@]}" --network host \
  -v "$work/clone.src:/var/run/cdi/clone/source:ro" -v "$work/cloner.termination-log:/dev/termination-log" \
  -e "CLIENT_KEY=$(cat "$work/pki/client.key")" -e "CLIENT_CERT=$(cat "$work/pki/client.crt")" \
  -e "SERVER_CA_CERT=$(cat "$work/pki/ca.crt")" -e "UPLOAD_URL=https://127.0.0.1:$port/v1beta1/upload" \
  -e OWNER_UID=images-test-uid -e PREALLOCATION=false -e VOLUME_MODE=filesystem \
  -e MOUNT_POINT=/var/run/cdi/clone/source "$cloner")
containers+=("$cc")
rc=$(wait_exit "$cc" 60)
[[ $rc == 0 ]] || { on_failure_logs "$cc"; on_failure_logs "$c"; fail "clone: the cloner exited $rc"; }
[[ $(cat "$work/cloner.termination-log") == "Clone Complete" ]] ||
  fail "clone: the cloner's termination message is '$(cat "$work/cloner.termination-log")'"
rc=$(wait_exit "$c" 30)
[[ $rc == 0 ]] || { on_failure_logs "$c"; fail "clone: the upload server exited $rc"; }
diff -r --no-dereference "$work/clone.src" "$work/clone.data" >&2 || fail "clone: /data differs from the source"
pass "clone: cdi-cloner → cdi-uploadserver over mTLS, filesystem to filesystem ($(du -k "$work/clone.data/disk.img" | cut -f1) KiB allocated of $(stat -c %s "$work/clone.data/disk.img")), termination messages: $(cat "$work/cloner.termination-log") / $(cat "$work/clone.termination-log")"

# ---- import from nginx ---------------------------------------------------------------------------
mkdir -p "$work/www/slow" "$work/nginx"
qemu-img create -q -f raw "$work/www/slow/disk.raw" 12M
for off in 0 5 11; do
  head -c 1048576 /dev/urandom | dd of="$work/www/slow/disk.raw" bs=1M seek="$off" conv=notrunc status=none
done
cp "$work/src/disk.qcow2" "$work/www/disk.qcow2"
chmod -R a+rX "$work/www"
nginx_port=$(free_port)
cat > "$work/nginx/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log info;
events { worker_connections 64; }
http {
  default_type application/octet-stream;
  access_log $work/nginx/access.log;
  client_body_temp_path $work/nginx/client_body;
  proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fastcgi;
  uwsgi_temp_path $work/nginx/uwsgi;
  scgi_temp_path $work/nginx/scgi;
  server {
    listen 127.0.0.1:$nginx_port;
    root $work/www;
    location /slow/ { limit_rate 2m; }
  }
}
EOF
nginx -c "$work/nginx/nginx.conf" -e "$work/nginx/error.log" &
nginx_pid=$!
for ((i = 0; i < 50; i++)); do
  curl -sf -o /dev/null "http://127.0.0.1:$nginx_port/disk.qcow2" && break
  sleep 0.1
done
((i < 50)) || fail "nginx did not start: $(cat "$work/nginx/error.log")"
/usr/bin/python3 - <<'EOF' || fail "port 8443 is in use on this host: the importer's metrics endpoint (host network) needs it"
import socket
s = socket.socket()
s.bind(("0.0.0.0", 8443))
EOF

owner_uid=0f3c2d1e-5a4b-4c3d-8e7f-$(printf '%012d' $$)
import_env() { # endpoint checksum
  printf '%s\n' -e IMPORTER_SOURCE=http -e "IMPORTER_ENDPOINT=$1" -e IMPORTER_CONTENTTYPE=kubevirt \
    -e IMPORTER_IMAGE_SIZE=16Mi -e "OWNER_UID=$owner_uid" -e FILESYSTEM_OVERHEAD=0.055 \
    -e INSECURE_TLS=false -e IMPORTER_DISK_ID= -e IMPORTER_UUID= -e IMPORTER_PULL_METHOD= \
    -e IMPORTER_READY_FILE= -e IMPORTER_DONE_FILE= -e IMPORTER_BACKING_FILE= -e IMPORTER_THUMBPRINT= \
    -e http_proxy= -e https_proxy= -e no_proxy= -e IMPORTER_CURRENT_CHECKPOINT= \
    -e IMPORTER_PREVIOUS_CHECKPOINT= -e IMPORTER_FINAL_CHECKPOINT= -e PREALLOCATION=false \
    -e CACHE_MODE= -e IMPORTER_REGISTRY_IMAGE_ARCHITECTURE= -e "IMPORTER_CHECKSUM=$2"
}
start_import() { # name endpoint checksum -> container id
  local name=$1
  mkdir -p "$work/$name.data"
  chown 107:107 "$work/$name.data"
  : > "$work/$name.termination-log"
  chown 107:107 "$work/$name.termination-log"
  mapfile -t envs < <(import_env "$2" "$3")
  "${run[@]}" -d --name "cdi-images-test-$name-$$" "${pod_security[@]}" --network host \
    -v "$work/$name.data:/data" -v "$work/$name.termination-log:/dev/termination-log" \
    "${envs[@]}" "$importer" -v=1
}

sum=sha256:$(sha256sum "$work/www/slow/disk.raw" | cut -d' ' -f1)
c=$(start_import import "http://127.0.0.1:$nginx_port/slow/disk.raw" "$sum")
containers+=("$c")
# Scrape as CDI's controller does (HTTPS, no verification, 2 s timeout) while nginx serves 2 MB/s.
best=
for ((i = 0; i < 100; i++)); do
  [[ $(podman inspect -f '{{.State.Status}}' "$c") == exited ]] && break
  if line=$(curl -sk --max-time 2 https://127.0.0.1:8443/metrics 2>/dev/null |
            grep -E "^kubevirt_cdi_import_progress_total\{ownerUID=\"$owner_uid\"\} [0-9]{1,3}(\.[0-9]+)?$"); then
    v=${line##* }
    [[ -z $best ]] || awk -v a="$v" -v b="$best" 'BEGIN { exit !(a + 0 >= b + 0) }' ||
      fail "import: progress went back from $best to $v"
    best=$v
  fi
  sleep 0.25
done
rc=$(wait_exit "$c" 60)
[[ $rc == 0 ]] || { on_failure_logs "$c"; fail "import: the importer exited $rc: $(cat "$work/import.termination-log")"; }
[[ -n $best ]] || { on_failure_logs "$c"; fail "import: no kubevirt_cdi_import_progress_total{ownerUID=\"$owner_uid\"} sample scraped"; }
awk -v a="$best" 'BEGIN { exit !(a > 0 && a <= 100) }' || fail "import: progress sample $best"
msg=$(cat "$work/import.termination-log")
[[ $msg == *'"scratchSpaceRequired":false'* && $msg == *'"message":"Import Complete"'* ]] ||
  fail "import: termination message $msg"
qemu-img compare -q -f raw -F raw "$work/www/slow/disk.raw" "$work/import.data/disk.img" ||
  fail "import: /data/disk.img differs from the served disk"
pass "import: raw over HTTP with a checksum, one pod, no scratch: target equal, progress scraped (last $best%), termination message: $msg"

# A qcow2 with no scratch volume: decoded as it arrives, in one pod (CDI would ask for scratch space).
# The 12 MiB disk, so that it fits the 16Mi the importer is given.
qemu-img convert -q -f raw -O qcow2 "$work/www/slow/disk.raw" "$work/www/small.qcow2"
chmod a+r "$work/www/small.qcow2"
c=$(start_import noscratch "http://127.0.0.1:$nginx_port/small.qcow2" "")
containers+=("$c")
rc=$(wait_exit "$c" 60)
msg=$(cat "$work/noscratch.termination-log")
[[ $rc == 0 && $msg == *'"scratchSpaceRequired":false'* && $msg == *'"message":"Import Complete"'* ]] ||
  { on_failure_logs "$c"; fail "noscratch: exit $rc, termination message $msg"; }
qemu-img compare -q -f raw -F raw "$work/www/slow/disk.raw" "$work/noscratch.data/disk.img" ||
  { on_failure_logs "$c"; fail "noscratch: /data/disk.img differs from qemu-img convert of the qcow2"; }
pass "noscratch: qcow2 over HTTP without /scratch decoded as it arrives, target equal: $msg"

# ---- helpers from the importer image -------------------------------------------------------------
: > "$work/size.termination-log"
chown 107:107 "$work/size.termination-log"
size=$("${run[@]}" --rm --network none "${pod_security[@]}" -v "$work/import.data:/data:ro" \
  -v "$work/size.termination-log:/dev/termination-log" \
  --entrypoint /usr/bin/cdi-image-size-detection "$importer" -image-path /data/disk.img)
want=$(qemu-img info -f raw --output=json "$work/import.data/disk.img" |
  /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["virtual-size"])')
[[ $size == "$want" && $(cat "$work/size.termination-log") == "$want" ]] ||
  fail "cdi-image-size-detection printed '$size' and wrote '$(cat "$work/size.termination-log")', want $want"
mkdir -p "$work/shared"
chown 107:107 "$work/shared"
"${run[@]}" --rm --network none "${pod_security[@]}" -v "$work/shared:/shared" --entrypoint sh "$importer" \
  -c "cp /usr/bin/cdi-containerimage-server /shared/server"
[[ -x $work/shared/server ]] || fail "the init container's cp left no executable /shared/server"
file_type=$(od -An -tx1 -N4 "$work/shared/server" | tr -d ' ')
[[ $file_type == 7f454c46 ]] || fail "/shared/server is not an ELF file"
readelf -l "$work/shared/server" | grep -q 'INTERP' && fail "cdi-containerimage-server is not static"
pass "helpers: cdi-image-size-detection prints $size; sh -c \"cp /usr/bin/cdi-containerimage-server /shared/server\" copies a static executable"

echo "$pass_count passed, 0 failed"
