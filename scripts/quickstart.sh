#!/usr/bin/env bash
# The README's first command: set up, build, and upload the bundled sample image the way
# `virtctl image-upload` does through CDI's upload proxy: cdi-uploadserver listens with mutual TLS
# (certificates generated here with the openssl CLI), curl POSTs the sample (a qcow2, xz-compressed,
# made from bytes in this repository) to /v1beta1/upload, and the script shows what landed.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
bash scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build --target cdi-uploadserver -j "$(nproc)"

work=$(mktemp -d /var/tmp/cdi-quickstart-XXXXXX)
server_pid=
cleanup() {
  [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/data" "$work/scratch" "$work/tls"
bash scripts/make-sample.sh "$work/src" >/dev/null
echo "== sample: $(stat -c %s "$work/src/sample.qcow2.xz") bytes of qcow2.xz (a 64 MiB ext4 filesystem inside)"

echo "== certificates: a CA, the server's (127.0.0.1), the upload proxy's client certificate"
tls=$work/tls
bash scripts/make-upload-pki.sh "$tls"

echo "== starting cdi-uploadserver (UPLOAD_IMAGE_SIZE=128Mi, FILESYSTEM_OVERHEAD=0.055, scratch mounted)"
env TLS_KEY_FILE="$tls/tls.key" TLS_CERT_FILE="$tls/tls.crt" CLIENT_CERT_FILE="$tls/ca.crt" \
    CLIENT_NAME=client.upload-server.cdi.kubevirt.io UPLOAD_IMAGE_SIZE=128Mi FILESYSTEM_OVERHEAD=0.055 \
    LISTEN_ADDRESS=127.0.0.1 LISTEN_PORT=0 CDI_DATA_DIR="$work/data" CDI_SCRATCH_DIR="$work/scratch" \
    CDI_TERMINATION_LOG="$work/termination-log" DEADLINE="$(date -u -d '+10 min' +%Y-%m-%dT%H:%M:%SZ)" \
    build/server/cdi-uploadserver -v=1 -alsologtostderr 2> "$work/server.log" &
server_pid=$!
port=
for _ in $(seq 100); do
  port=$(sed -n 's/.*listening on .*:\([0-9][0-9]*\)$/\1/p' "$work/server.log" | head -n 1)
  [[ -n $port ]] && break
  sleep 0.1
done
[[ -n $port ]] || { cat "$work/server.log"; echo "the server did not start"; exit 1; }
echo "   listening on 127.0.0.1:$port"

echo "== curl --data-binary @sample.qcow2.xz https://127.0.0.1:$port/v1beta1/upload (mutual TLS)"
code=$(curl -sS -o "$work/response" -w '%{http_code}' --cacert "$tls/ca.crt" --cert "$tls/client.crt" \
  --key "$tls/client.key" --data-binary @"$work/src/sample.qcow2.xz" "https://127.0.0.1:$port/v1beta1/upload")
echo "   HTTP $code $(cat "$work/response")"
status=0
wait "$server_pid" || status=$?
server_pid=
echo "== server log:"
sed 's/^/   /' "$work/server.log"
echo "== server exit status: $status"
echo "== termination message: $(cat "$work/termination-log")"
[[ $code == 200 && $status -eq 0 ]] || { echo "upload failed"; exit 1; }
echo "== target (allocated KiB, size):"
ls -ls "$work/data/disk.img"
qemu-img info -f raw "$work/data/disk.img" | sed -n '1,4p'
echo "== scratch after the upload: $(ls -A "$work/scratch" | wc -l) file(s)"
echo "== the first 64 MiB equal the original filesystem byte for byte:"
cmp -n $((64 << 20)) "$work/data/disk.img" "$work/src/sample.raw" && echo "   identical"
echo "== files inside the uploaded filesystem:"
debugfs -R 'ls -l /' "$work/data/disk.img" 2>/dev/null | sed 's/^/   /'
