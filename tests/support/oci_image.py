#!/usr/bin/python3
"""Builds an OCI image layout (optionally also an oci-archive) deterministically from a JSON spec, so
tests can make containerdisk images and push them to a real registry with skopeo.

Usage: oci_image.py spec.json out_dir [--archive out.tar]

Spec:
  {"tag": "latest",                 # org.opencontainers.image.ref.name of the top descriptor
   "index": false,                  # true: an image index (one manifest per image, with its platform)
   "images": [{
     "architecture": "amd64", "os": "linux", "variant": "",
     "env": ["KUBEVIRT_IO_X=y"], "labels": {"k": "v"},
     "layers": [{
       "compression": "gzip",       # gzip | zstd | none
       "level": 6,                  # optional compression level
       "tar_format": "gnu",         # gnu | pax
       "entries": [
         {"path": "disk/", "type": "dir"},
         {"path": "disk/disk.qcow2", "type": "file", "source": "/abs/file"},   # streamed, any size
         {"path": "disk/x", "type": "file", "content": "text"},
         {"path": "disk/l", "type": "symlink", "target": "x"},
         {"path": "disk/h", "type": "hardlink", "target": "disk/x"}]},
        # optional per entry: "mode" (int), "uid", "gid"
       {"blob": "/abs/file" | "blob_content": "text", "media_type": "..."}]}]}  # a verbatim layer blob
                                    # (diff_id = its sha256 unless "diff_id" is given)
  Any layer may carry "repeat": N: its descriptor (and diff_id) is listed N times in a row in the
  manifest (and config), the blob stored once, as a hostile image repeating one layer would be.

Every tar member has uid/gid 0, empty user/group names and mtime 0; gzip streams carry no name and
mtime 0; JSON is written with sorted keys. The same spec and inputs give the same digests.
Manifests are always OCI: skopeo's oci: transport skips index.json entries of any other media type,
so a Docker v2s2 image (or manifest list, with --all) is made by converting at push time
(skopeo copy --format v2s2; docker_registry::push with push_options{.format = "v2s2"}).
Prints a JSON summary (top digest, per-image manifest/config/layer digests) on stdout.
"""
import argparse
import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile

CHUNK = 1 << 20

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = {"none": "application/vnd.oci.image.layer.v1.tar",
             "gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
             "zstd": "application/vnd.oci.image.layer.v1.tar+zstd"}


def fail(msg):
    sys.stderr.write("oci_image.py: " + msg + "\n")
    sys.exit(2)


class HashingWriter:
    """File-like sink that hashes and counts what passes through to `out` (None: only hashes)."""

    def __init__(self, out):
        self.out = out
        self.sha = hashlib.sha256()
        self.size = 0

    def write(self, data):
        self.sha.update(data)
        self.size += len(data)
        if self.out is not None:
            self.out.write(data)
        return len(data)

    def flush(self):
        if self.out is not None:
            self.out.flush()

    def digest(self):
        return "sha256:" + self.sha.hexdigest()


def file_digest(path):
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while True:
            b = f.read(CHUNK)
            if not b:
                break
            h.update(b)
            size += len(b)
    return "sha256:" + h.hexdigest(), size


class Layout:
    def __init__(self, root):
        self.root = root
        self.blobs = os.path.join(root, "blobs", "sha256")
        os.makedirs(self.blobs, exist_ok=True)

    def temp(self):
        fd, path = tempfile.mkstemp(dir=self.blobs, prefix=".tmp-")
        return os.fdopen(fd, "wb"), path

    def adopt(self, tmp_path, digest):
        """Moves a finished temp file to its content address."""
        final = os.path.join(self.blobs, digest.split(":", 1)[1])
        os.replace(tmp_path, final)
        os.chmod(final, 0o644)

    def put_json(self, obj):
        data = json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        with open(os.path.join(self.blobs, digest.split(":", 1)[1]), "wb") as f:
            f.write(data)
        return digest, len(data)


def tar_info(entry):
    path = entry["path"]
    kind = entry.get("type", "file")
    ti = tarfile.TarInfo(path.rstrip("/") if kind == "dir" and path not in ("/", "./") else path)
    ti.uid = entry.get("uid", 0)
    ti.gid = entry.get("gid", 0)
    ti.uname = ""
    ti.gname = ""
    ti.mtime = 0
    if kind == "dir":
        ti.type = tarfile.DIRTYPE
        ti.mode = entry.get("mode", 0o755)
    elif kind == "file":
        ti.type = tarfile.REGTYPE
        ti.mode = entry.get("mode", 0o644)
    elif kind == "symlink":
        ti.type = tarfile.SYMTYPE
        ti.linkname = entry["target"]
        ti.mode = entry.get("mode", 0o777)
    elif kind == "hardlink":
        ti.type = tarfile.LNKTYPE
        ti.linkname = entry["target"]
        ti.mode = entry.get("mode", 0o644)
    else:
        fail("unknown entry type %r for %r" % (kind, path))
    return ti


def write_tar(entries, tar_format, sink):
    fmt = {"gnu": tarfile.GNU_FORMAT, "pax": tarfile.PAX_FORMAT}.get(tar_format)
    if fmt is None:
        fail("unknown tar_format %r" % tar_format)
    with tarfile.open(fileobj=sink, mode="w|", format=fmt) as tar:
        tar.copybufsize = CHUNK
        for entry in entries:
            ti = tar_info(entry)
            if ti.type != tarfile.REGTYPE:
                tar.addfile(ti)
            elif "source" in entry:
                ti.size = os.stat(entry["source"]).st_size
                with open(entry["source"], "rb") as f:
                    tar.addfile(ti, f)
            else:
                data = entry.get("content", "")
                data = data.encode() if isinstance(data, str) else bytes(data)
                ti.size = len(data)
                tar.addfile(ti, io.BytesIO(data))


def build_layer(layout, layer):
    """Writes one layer blob; returns (descriptor, diff_id)."""
    if "blob" in layer or "blob_content" in layer:
        out, tmp = layout.temp()
        with out:
            if "blob" in layer:
                with open(layer["blob"], "rb") as src:
                    shutil.copyfileobj(src, out, CHUNK)
            else:
                out.write(layer["blob_content"].encode())
        digest, size = file_digest(tmp)
        layout.adopt(tmp, digest)
        media = layer.get("media_type", OCI_LAYER["gzip"])
        return {"mediaType": media, "digest": digest, "size": size}, layer.get("diff_id", digest)

    compression = layer.get("compression", "gzip")
    if compression not in OCI_LAYER:
        fail("unknown compression %r" % compression)
    entries = layer.get("entries", [])
    tar_format = layer.get("tar_format", "gnu")
    out, tmp = layout.temp()
    with out:
        if compression == "none":
            raw = HashingWriter(out)
            write_tar(entries, tar_format, raw)
            diff_id = raw.digest()
        elif compression == "gzip":
            with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0,
                               compresslevel=layer.get("level", 6)) as gz:
                raw = HashingWriter(gz)
                write_tar(entries, tar_format, raw)
            diff_id = raw.digest()
        else:
            proc = subprocess.Popen(["zstd", "-q", "-c", "-%d" % layer.get("level", 3)],
                                    stdin=subprocess.PIPE, stdout=out)
            raw = HashingWriter(proc.stdin)
            write_tar(entries, tar_format, raw)
            proc.stdin.close()
            if proc.wait() != 0:
                fail("zstd failed")
            diff_id = raw.digest()
    digest, size = file_digest(tmp)
    layout.adopt(tmp, digest)
    return {"mediaType": OCI_LAYER[compression], "digest": digest, "size": size}, diff_id


def build_image(layout, image):
    if image.get("manifest_format", "oci") != "oci":
        fail("manifest_format %r: only oci is built; convert when pushing (skopeo copy --format v2s2)"
             % image["manifest_format"])
    layers, diff_ids = [], []
    for layer in image.get("layers", []):
        desc, diff_id = build_layer(layout, layer)
        repeat = layer.get("repeat", 1)
        if not isinstance(repeat, int) or repeat < 1:
            fail("repeat must be a positive integer, not %r" % (repeat,))
        layers.extend([desc] * repeat)
        diff_ids.extend([diff_id] * repeat)
    platform = {"architecture": image.get("architecture", "amd64"), "os": image.get("os", "linux")}
    if image.get("variant"):
        platform["variant"] = image["variant"]
    config = dict(platform)
    config["created"] = "1970-01-01T00:00:00Z"
    config["config"] = {}
    if image.get("env"):
        config["config"]["Env"] = list(image["env"])
    if image.get("labels"):
        config["config"]["Labels"] = dict(image["labels"])
    config["rootfs"] = {"type": "layers", "diff_ids": diff_ids}
    cdigest, csize = layout.put_json(config)
    manifest = {"schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": {"mediaType": OCI_CONFIG, "digest": cdigest, "size": csize},
                "layers": layers}
    mdigest, msize = layout.put_json(manifest)
    desc = {"mediaType": manifest["mediaType"], "digest": mdigest, "size": msize, "platform": platform}
    summary = {"manifest": mdigest, "config": cdigest, "platform": platform,
               "layers": [{"digest": l["digest"], "size": l["size"], "media_type": l["mediaType"], "diff_id": d}
                          for l, d in zip(layers, diff_ids)]}
    return desc, summary


def write_archive(root, archive):
    """A deterministic tar of the layout (the oci-archive transport's format)."""
    with tarfile.open(archive, "w", format=tarfile.GNU_FORMAT) as tar:
        tar.copybufsize = CHUNK
        for name in ["oci-layout", "index.json", "blobs", "blobs/sha256"] + sorted(
                "blobs/sha256/" + n for n in os.listdir(os.path.join(root, "blobs", "sha256"))):
            path = os.path.join(root, name)
            ti = tar.gettarinfo(path, arcname=name)
            ti.uid = ti.gid = 0
            ti.uname = ti.gname = ""
            ti.mtime = 0
            ti.mode = 0o755 if ti.isdir() else 0o644
            if ti.isdir():
                tar.addfile(ti)
            else:
                with open(path, "rb") as f:
                    tar.addfile(ti, f)


def main():
    ap = argparse.ArgumentParser(description="build a deterministic OCI image layout from a JSON spec")
    ap.add_argument("spec")
    ap.add_argument("out_dir")
    ap.add_argument("--archive", help="also write an oci-archive (a tar of the layout) here")
    args = ap.parse_args()
    with open(args.spec) as f:
        spec = json.load(f)
    images = spec.get("images", [])
    if not images:
        fail("the spec has no images")
    if len(images) > 1 and not spec.get("index", False):
        fail("several images need \"index\": true")
    tag = spec.get("tag", "latest")

    layout = Layout(args.out_dir)
    with open(os.path.join(args.out_dir, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    descs, summaries = [], []
    for image in images:
        desc, summary = build_image(layout, image)
        descs.append(desc)
        summaries.append(summary)

    if spec.get("index", False):
        index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": descs}
        idigest, isize = layout.put_json(index)
        top = {"mediaType": index["mediaType"], "digest": idigest, "size": isize}
    else:
        top = {k: v for k, v in descs[0].items() if k != "platform"}
    top["annotations"] = {"org.opencontainers.image.ref.name": tag}
    with open(os.path.join(args.out_dir, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [top]}, f, sort_keys=True,
                  separators=(",", ":"))

    if args.archive:
        write_archive(args.out_dir, args.archive)
    json.dump({"top": top["digest"], "top_media_type": top["mediaType"], "tag": tag, "images": summaries},
              sys.stdout, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
