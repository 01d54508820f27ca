#!/usr/bin/env bash
# Makes the certificates an upload needs, as CDI's controller and upload proxy have them: a CA
# (ca.crt/ca.key), the upload server's certificate for 127.0.0.1 and localhost (tls.crt/tls.key)
# and the proxy's client certificate with CDI's client name (client.crt/client.key), all EC P-256,
# valid for 2 days, in the directory given. Used by the quick start and the upload benches.
set -euo pipefail
dir=${1:?usage: make-upload-pki.sh DIR}
mkdir -p "$dir"
ec_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2> /dev/null; }
ec_key "$dir/ca.key"
openssl req -x509 -new -key "$dir/ca.key" -subj /CN=cdi-dataplane-ca -days 2 -out "$dir/ca.crt" \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2> /dev/null
issue() { # name CN extendedKeyUsage [SAN]
  ec_key "$dir/$1.key"
  printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=%s\n%s' "$3" "${4:-}" > "$dir/$1.ext"
  openssl req -new -key "$dir/$1.key" -subj "/CN=$2" -out "$dir/$1.csr" 2> /dev/null
  openssl x509 -req -in "$dir/$1.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial -days 2 \
    -extfile "$dir/$1.ext" -out "$dir/$1.crt" 2> /dev/null
  rm -f "$dir/$1.csr" "$dir/$1.ext"
}
issue tls localhost serverAuth "subjectAltName=IP:127.0.0.1,DNS:localhost"
issue client client.upload-server.cdi.kubevirt.io clientAuth
