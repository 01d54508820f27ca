#!/usr/bin/env bash
# Generates the seed corpora of the harnesses into OUT/<harness>/ (default build-fuzz/seeds): small
# images made with qemu-img (each format, with data, and the hostile variants the unit tests use),
# their gzip/xz/zstd wrappings, tars, Snappy-framed streams, multipart bodies, registry JSON and
# request texts. Generated, never committed: fuzz/regressions/ holds the kept inputs (findings).
# Each seed carries the control byte its harness reads first (see the harness's header comment).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/../build-fuzz/seeds}
rm -rf "$out"
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

seed() {  # seed HARNESS NAME [PREFIX-HEX] < bytes
  local dir="$out/$1"
  mkdir -p "$dir"
  if [[ -n "${3:-}" ]]; then
    { printf "$(sed 's/../\\x&/g' <<<"$3")"; cat; } >"$dir/$2"
  else
    cat >"$dir/$2"
  fi
}
text() { printf '%s' "$3" | seed "$1" "$2" "${4:-}"; }

# ---- images: small, with a little data (64 KiB of random bytes at two places)
head -c 65536 /dev/urandom >"$tmp/data"
qemu-img create -q -f raw "$tmp/src.raw" 1M
dd if="$tmp/data" of="$tmp/src.raw" bs=64k seek=0 conv=notrunc status=none
dd if="$tmp/data" of="$tmp/src.raw" bs=64k seek=10 conv=notrunc status=none
img() {  # img NAME FMT OPTS
  qemu-img convert -q -f raw -O "$2" ${3:+-o "$3"} "$tmp/src.raw" "$tmp/$1"
}
img a.qcow2 qcow2 cluster_size=4096
img b.qcow2 qcow2 cluster_size=65536
img c.qcow2 qcow2 cluster_size=4096,compat=0.10
img comp.qcow2 qcow2 cluster_size=4096 && qemu-img convert -q -c -f raw -O qcow2 -o cluster_size=4096 "$tmp/src.raw" "$tmp/comp.qcow2"
qemu-img convert -q -c -f raw -O qcow2 -o cluster_size=4096,compression_type=zstd "$tmp/src.raw" "$tmp/zstd.qcow2"
qemu-img convert -q -f raw -O qcow2 -o cluster_size=16384,extended_l2=on "$tmp/src.raw" "$tmp/ext.qcow2"
qemu-img create -q -f qcow2 -u -b /etc/passwd -F raw "$tmp/backing.qcow2" 1M
img sparse.vmdk vmdk subformat=monolithicSparse
img stream.vmdk vmdk subformat=streamOptimized
# VDI, VHD and VHDX allocate whole blocks (1 to 2 MiB): empty images keep their seeds small.
qemu-img create -q -f vdi "$tmp/a.vdi" 1M
qemu-img create -q -f vdi -o static=on "$tmp/s.vdi" 64K
qemu-img create -q -f vpc "$tmp/a.vhd" 1M
qemu-img create -q -f vpc -o subformat=fixed "$tmp/f.vhd" 64K
qemu-img create -q -f vhdx -o block_size=1M "$tmp/a.vhdx" 1M
printf '# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\ncreateType="monolithicFlat"\n\nRW 2048 FLAT "/etc/shadow" 0\n\nddb.adapterType = "ide"\n' >"$tmp/descriptor.vmdk"

images=(a.qcow2 b.qcow2 c.qcow2 comp.qcow2 zstd.qcow2 ext.qcow2 backing.qcow2 sparse.vmdk stream.vmdk a.vdi s.vdi a.vhd f.vhd a.vhdx descriptor.vmdk)
for i in "${images[@]}"; do
  seed image_inspector "$i" <"$tmp/$i"
  [[ $i == *.vhdx ]] || seed format_sniffer "$i" 00 <"$tmp/$i"
  case $i in
    *.qcow2) h=qcow2_header; f=00 ;;
    *.vmdk) h=vmdk_header; f=01 ;;
    *.vdi) h=vdi_header; f=02 ;;
    *.vhd) h=vhd_header; f=03 ;;
    *.vhdx) h=vhdx_header; f=04 ;;
  esac
  if [[ $h == vmdk_header ]]; then seed $h "$i" 00 <"$tmp/$i"; else seed $h "$i" <"$tmp/$i"; fi
  seed image_inspector_differential "$i" $f <"$tmp/$i"
done
for i in a.qcow2 b.qcow2 c.qcow2 comp.qcow2 zstd.qcow2 ext.qcow2 backing.qcow2; do seed qcow2_stream_decoder "$i" <"$tmp/$i"; done
seed vmdk_stream_decoder stream.vmdk <"$tmp/stream.vmdk"
seed vmdk_header descriptor.txt 01 <"$tmp/descriptor.vmdk"
dd if="$tmp/sparse.vmdk" bs=512 skip=1 count=20 status=none | seed vmdk_header embedded.txt 01

# ---- compression layers: gzip (plain, with name/comment/extra/hcrc, two members), xz, zstd, nested
gzip -c -n "$tmp/a.qcow2" >"$tmp/a.qcow2.gz"
python3 - "$tmp/named.gz" <<'PY'
import gzip, io, struct, sys, zlib
body = b"hello fuzz\n" * 64
comp = zlib.compressobj(6, zlib.DEFLATED, -15); raw = comp.compress(body) + comp.flush()
flags = 0x04 | 0x08 | 0x10 | 0x02
hdr = b"\x1f\x8b\x08" + bytes([flags]) + b"\0\0\0\0\0\xff"
hdr += struct.pack("<H", 6) + b"AB\x02\x00xy" + b"name.img\0" + b"comment\0"
hdr += struct.pack("<H", zlib.crc32(hdr) & 0xffff)
member = hdr + raw + struct.pack("<II", zlib.crc32(body), len(body))
open(sys.argv[1], "wb").write(member + gzip.compress(b"second member"))
PY
xz -c -T1 "$tmp/a.qcow2" >"$tmp/a.qcow2.xz"
zstd -q -c "$tmp/a.qcow2" >"$tmp/a.qcow2.zst"
gzip -c -n "$tmp/a.qcow2.xz" >"$tmp/a.qcow2.xz.gz"
for z in a.qcow2.gz named.gz a.qcow2.xz a.qcow2.zst a.qcow2.xz.gz; do seed format_sniffer "$z" 00 <"$tmp/$z"; done
seed format_sniffer named.zlib.gz 80 <"$tmp/named.gz"
for z in a.qcow2.gz named.gz; do seed gzip_source "$z" 00 <"$tmp/$z"; seed gzip_source "zlib-$z" 83 <"$tmp/$z"; done

# ---- tars: plain, GNU, pax (long names), sparse, links; the extractor and the entry reader
mkdir -p "$tmp/t/dir/sub"
printf 'x%.0s' {1..700} >"$tmp/t/dir/file.txt"
head -c 2048 /dev/urandom >"$tmp/t/disk.img"
ln -s file.txt "$tmp/t/dir/link"
ln "$tmp/t/dir/file.txt" "$tmp/t/dir/hard"
truncate -s 1M "$tmp/t/sparse.img" && printf 'data' | dd of="$tmp/t/sparse.img" bs=1 seek=500000 conv=notrunc status=none
longname=$(printf 'n%.0s' {1..150})
printf 'long' >"$tmp/t/dir/sub/$longname"
(cd "$tmp/t" && tar --format=ustar -cf "$tmp/ustar.tar" disk.img dir/file.txt dir/link)
(cd "$tmp/t" && tar --format=gnu -cf "$tmp/gnu.tar" --exclude=sparse.img .)
(cd "$tmp/t" && tar --format=pax -cf "$tmp/pax.tar" --exclude=sparse.img .)
(cd "$tmp/t" && tar --format=gnu -S -cf "$tmp/sparse.tar" sparse.img disk.img)
(cd "$tmp/t" && tar --format=pax -S -cf "$tmp/pax-sparse.tar" sparse.img disk.img)
for t in ustar.tar gnu.tar pax.tar sparse.tar pax-sparse.tar; do
  seed tar_extractor "$t" <"$tmp/$t"
  seed tar_entry_source "$t" 03 <"$tmp/$t"
done
gzip -c -n "$tmp/gnu.tar" | seed format_sniffer gnu.tar.gz 00

# ---- OVAs and tar-wrapped disks (tests/support/tar_disks.py from a 64 KiB disk): the tars for
# tar_disk_source, their OVF descriptors for ovf_descriptor
mkdir -p "$tmp/ova"
qemu-img create -q -f raw "$tmp/ova/disk.raw" 64K
dd if="$tmp/data" of="$tmp/ova/disk.raw" bs=4k count=4 conv=notrunc status=none
qemu-img convert -q -f raw -O vmdk -o subformat=streamOptimized "$tmp/ova/disk.raw" "$tmp/ova/disk.vmdk"
/usr/bin/python3 "$here/../tests/support/tar_disks.py" "$tmp/ova"
for t in "$tmp"/ova/*.ova "$tmp"/ova/*.tar; do
  n=${t##*/}
  seed tar_disk_source "$n" 03 <"$t"
  [[ $n == *.ova ]] && tar -xOf "$t" --wildcards '*.ovf' 2>/dev/null | seed ovf_descriptor "${n%.ova}.ovf"
done

# ---- Snappy framing (the clone stream): the test encoder, small and multi-chunk
snappy=$here/../tests/support/snappy_frame.py
head -c 200000 "$tmp/src.raw" | /usr/bin/python3 "$snappy" | seed snappy_frame_source disk.sz 05
printf 'tiny' | /usr/bin/python3 "$snappy" | seed snappy_frame_source tiny.sz 00
/usr/bin/python3 "$snappy" <"$tmp/ustar.tar" | seed snappy_frame_source tar.sz 03

# ---- multipart: control byte, Content-Type, NUL, body
mp() {  # mp NAME BOUNDARY-PARAM BODY
  { printf '\x03multipart/form-data; %s\0' "$2"; printf '%b' "$3"; } | seed multipart_source "$1"
}
mp simple 'boundary=XyZ' '--XyZ\r\nContent-Disposition: form-data; name="file"; filename="disk.img"\r\nContent-Type: application/octet-stream\r\n\r\nDISKBYTES\r\n--XyZ--\r\n'
mp quoted 'boundary="a b:c"' 'preamble\r\n--a b:c\r\nContent-Disposition: form-data; name="other"\r\n\r\nzz\r\n--a b:c\r\nContent-Disposition: form-data; name="file"\r\n\r\n\r\n--a b:\r\n--a b:c--'
mp empty 'boundary=q' '--q--\r\n'

# ---- request texts (request_policy): control byte, then the client's bytes
rq() { printf '%b' "$2" | seed request_policy "$1" "${3:-80}"; }
rq upload 'POST /v1beta1/upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello'
rq async 'POST /v1beta1/upload-async HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n5\r\nhello\r\n0\r\n\r\n'
rq form 'POST /v1alpha1/upload-form HTTP/1.1\r\nContent-Type: multipart/form-data; boundary=XyZ\r\nContent-Length: 3\r\n\r\nabc'
rq clone 'POST /v1beta1/upload HTTP/1.1\r\nx-cdi-content-type: filesystem-clone\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n0\r\nTrailer: x\r\n\r\n'
rq archive 'PUT /v1beta1/upload-archive HTTP/1.1\r\nContent-Length: 0\r\n\r\n' 81
rq healthz 'GET /healthz HTTP/1.1\r\n\r\n' 02
rq busy 'POST /v1beta1/upload HTTP/1.0\r\nConnection: keep-alive\r\n\r\n' 01

# ---- registry JSON (byte 0: the Content-Type index of the harness)
j() { printf '%s' "$3" | seed image_manifest "$1" "$2"; }
d64=sha256:$(printf 'a%.0s' {1..64})
j docker-manifest 00 "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\",\"config\":{\"mediaType\":\"application/vnd.docker.container.image.v1+json\",\"size\":1469,\"digest\":\"$d64\"},\"layers\":[{\"mediaType\":\"application/vnd.docker.image.rootfs.diff.tar.gzip\",\"size\":2811,\"digest\":\"$d64\"}]}"
j oci-manifest 02 "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"size\":10,\"digest\":\"$d64\"},\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+zstd\",\"size\":5,\"digest\":\"$d64\",\"annotations\":{\"a\":\"b\"},\"urls\":[\"https://x/y\"]}]}"
j docker-list 01 "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.docker.distribution.manifest.list.v2+json\",\"manifests\":[{\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\",\"size\":7,\"digest\":\"$d64\",\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"}},{\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\",\"size\":7,\"digest\":\"$d64\",\"platform\":{\"architecture\":\"arm64\",\"os\":\"linux\",\"variant\":\"v8\"}}]}"
j oci-index 03 "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"size\":7,\"digest\":\"$d64\",\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"}}]}"
j config 04 '{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/usr/bin","INSTANCETYPE_KUBEVIRT_IO_DEFAULT_INSTANCETYPE=u1.small"],"Labels":{"instancetype.kubevirt.io/default-preference":"fedora"}},"rootfs":{"type":"layers","diff_ids":[]}}'

# ---- text parsers
for s in 'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/ubuntu:pull"' \
         'Basic realm="r\"q\\x", Bearer realm=x,error=invalid_token' 'Negotiate abc==, Basic realm=y' 'Bearer realm="a",,,scope=b'; do
  printf '%s' "$s" | seed www_authenticate "$(printf '%s' "$s" | md5sum | cut -c1-12)"
done
for s in docker://quay.io/kubevirt/fedora:latest 'docker://127.0.0.1:5000/a/b@'"$d64" docker://fedora 'docker://[::1]:5000/x:1.0' \
         oci-archive:/tmp/image.tar oci-archive:/tmp/image.tar:quay.io/x/y:z docker://registry:5000/a/b:t@"$d64"; do
  printf '%s' "$s" | seed image_reference "$(printf '%s' "$s" | md5sum | cut -c1-12)"
done
for s in 'https://user:p%40ss@example.com:8443/a/b.img?x=1#f\0../c.img' 'http://[::1]/disk.qcow2\0https://other/x' \
         'http://127.0.0.1:8080\0//host2/y' 'https://h/%2e%2e/a\0?q=2' 'HTTP://Example.COM/A\0/abs/path'; do
  printf '%b' "$s" | seed http_url "$(printf '%s' "$s" | md5sum | cut -c1-12)"
done
for s in 10Gi 1G 500M 1e3 0.5Ki 123456789 1.5E 100m 2Ti 0 +1Mi '1e-3' 9223372036854775807; do
  printf '%s' "$s" | seed quantity "q$(printf '%s' "$s" | md5sum | cut -c1-8)"
done
printf 'rdisk/disk.img\n' | seed containerdisk_overlay one
printf 'rdisk/.wh.a.img\nddisk/\n\nrdisk/a.img\nrdisk/b.img\n\nrdisk/.wh..wh..opq\n' | seed containerdisk_overlay whiteouts
printf 'sdisk/l.img\nhdisk/h\nrdisk\n\nddisk/x/\nrdisk/../e\n' | seed containerdisk_overlay links

# The kept regression inputs are seeds too.
if [[ -d $here/regressions ]]; then
  for d in "$here"/regressions/*/; do
    [[ -d $d ]] || continue
    mkdir -p "$out/$(basename "$d")"
    cp "$d"* "$out/$(basename "$d")/" 2>/dev/null || true
  done
fi
echo "seeds: $(find "$out" -type f | wc -l) files in $out ($(du -sh "$out" | cut -f1))"
