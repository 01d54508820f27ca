"""The processes, inputs, origins and scenarios of faults/sigkill_runs.py.

Peers(work, build, size, log) builds once under work/inputs: a reference raw disk (random 64 KiB
blocks between zero runs), its qcow2, raw.xz, gzipped VDI (staged to scratch and converted by a
qemu-img child), Snappy-framed clone stream, a small tar tree, and a containerdisk pushed to a local
docker-registry; it starts nginx (plain HTTP) and the registry on 127.0.0.1 free ports and stops
them on exit. scenarios() lists what a run can kill: each has start(d) -> Run and target_matches(d).
"""
import filecmp
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sh(cmd, **kw):
    subprocess.run(cmd, shell=True, check=True, **kw)


def wait_http(url, tries=200):
    for _ in range(tries):
        if subprocess.run(["curl", "-sf", "-o", "/dev/null", url]).returncode == 0:
            return True
        time.sleep(0.05)
    return False


def same_file(a: Path, b: Path) -> bool:
    try:
        if a.stat().st_size != b.stat().st_size:
            return False
    except FileNotFoundError:
        return False
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while True:
            x, y = fa.read(4 << 20), fb.read(4 << 20)
            if x != y:
                return False
            if not x:
                return True


def same_tree(src: Path, dst: Path) -> bool:
    cmp = filecmp.dircmp(src, dst)
    if cmp.left_only or cmp.right_only or cmp.funny_files:
        return False
    _, mismatch, errors = filecmp.cmpfiles(src, dst, cmp.common_files, shallow=False)
    if mismatch or errors:
        return False
    return all(same_tree(src / n, dst / n) for n in cmp.common_dirs)


def termination_message(d: Path) -> str:
    try:
        return (d / "termination-log").read_text(errors="replace")
    except FileNotFoundError:
        return ""


def scratch_empty(d: Path) -> bool:
    s = d / "scratch"
    return not s.exists() or not any(p.name != "lost+found" for p in s.iterdir())


class Tally:
    """Counts per scenario: `keys` in table order, of which `anomaly_keys` must stay 0."""

    def __init__(self, keys, anomaly_keys):
        self.keys, self.anomaly_keys, self.rows = list(keys), list(anomaly_keys), {}

    def add(self, scenario, key, n=1):
        row = self.rows.setdefault(scenario, dict.fromkeys(self.keys, 0))
        row[key] += n

    def anomalies(self):
        return sum(r[k] for r in self.rows.values() for k in self.anomaly_keys)

    def table(self):
        out = ["| scenario | " + " | ".join(self.keys) + " |", "|---" * (len(self.keys) + 1) + "|"]
        for name, r in sorted(self.rows.items()):
            out.append(f"| {name} | " + " | ".join(str(r[k]) for k in self.keys) + " |")
        return "\n".join(out)


def run_args(ap, runs, size):
    """The options every fault script takes."""
    ap.add_argument("--runs", type=int, default=runs)
    ap.add_argument("--build", default=str(REPO / "build"))
    ap.add_argument("--size", type=int, default=size, help="virtual size of the reference disk")
    ap.add_argument("--work", default="/var/tmp/cdi-faults")
    ap.add_argument("--seed", type=int, default=int(time.time()))
    ap.add_argument("--only", default="", help="comma-separated scenario names")


def anomaly_log(path: Path):
    """A log function writing each line to stderr and appending it to path."""
    f = open(path, "a")

    def log(line):
        print(line, file=sys.stderr, flush=True)
        f.write(line + "\n")
        f.flush()
    return log


def calibrate(scenarios, runs: Path, wait, log):
    """One run of each scenario on plain folders, which must succeed; its time becomes scn.duration.
    wait(scn, run) returns the run's exit code."""
    for scn in scenarios:
        d = runs / f"calibrate-{scn.name}"
        d.mkdir(parents=True)
        (d / "data").mkdir()
        (d / "scratch").mkdir()
        r = scn.start(d)
        code = wait(scn, r)
        scn.duration = time.monotonic() - r.started
        if code != 0 or not scn.target_matches(d):
            raise SystemExit(f"calibration of {scn.name} failed (exit {code}); see {d}/process.log")
        shutil.rmtree(d)
        log(f"{scn.name}: {scn.duration:.2f} s uninterrupted")


def chosen(peers, only):
    """The scenarios named in --only (all when empty); exits when none is left."""
    out = [s for s in peers.scenarios() if not only or s.name in only.split(",")]
    if not out:
        raise SystemExit("no scenario to run")
    return out


def run_rounds(scenarios, runs, seed, tally, log, one, every):
    """Runs one(i, scn) `runs` times, round robin over scenarios, logging the anomaly count every
    `every` runs (a long run can be stopped at any time with counts in hand)."""
    started = time.monotonic()
    for i in range(runs):
        one(i, scenarios[i % len(scenarios)])
        if (i + 1) % every == 0:
            log(f"after {i + 1} runs ({time.monotonic() - started:.0f} s): {tally.anomalies()} anomalies")
    log(f"{runs} runs in {time.monotonic() - started:.0f} s, seed {seed}")


def report(tally):
    """The counts on stdout; exit status 1 when any anomaly was seen."""
    print(tally.table())
    sys.exit(1 if tally.anomalies() else 0)


def run_script(main):
    """Runs a fault script's main. Stopped by SIGTERM or ^C, the run in flight is killed too, and the
    peers are stopped (Peers.__exit__)."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        main()
    finally:
        kill_live()


LIVE = set()  # the runs not yet ended, killed by kill_live() when the script itself is stopped


def kill_live():
    for run in list(LIVE):
        for p in (run.proc, run.client):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()
    LIVE.clear()


class Run:
    """One process of a scenario on the volumes under `d`: started, then waited for or killed."""

    def __init__(self, d: Path, argv, env, client=None):
        self.d = d
        self.log = open(d / "process.log", "ab")
        self.proc = subprocess.Popen(argv, env=env, stdout=self.log, stderr=self.log, stdin=subprocess.DEVNULL)
        self.client = None
        self.started = time.monotonic()
        LIVE.add(self)
        if client is not None:
            self.client = client(self)

    def wait(self, timeout):
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
            code = "hung"
        self._end_client()
        return code

    def kill_after(self, delay):
        deadline = self.started + delay
        while time.monotonic() < deadline and self.proc.poll() is None:
            time.sleep(0.005)
        killed = self.proc.poll() is None
        if killed:
            self.proc.send_signal(signal.SIGKILL)
        code = self.proc.wait()
        self._end_client()
        return code, killed

    def _end_client(self):
        if self.client is not None:
            if self.client.poll() is None:
                self.client.kill()
            self.client.wait()
        self.log.close()
        LIVE.discard(self)


class Scenario:
    def __init__(self, name, start, target_matches, upload=False):
        self.name = name
        self.upload = upload  # an upload server: it outlives a failed upload, waiting for the retry
        self.start = start
        self.target_matches = target_matches
        self.duration = 1.0


class Peers:
    def __init__(self, work: Path, build: Path, size: int, log):
        self.work, self.build, self.size, self.log = work, build, size, log
        self.inputs = work / "inputs"
        self.procs = []
        self.registry_ref = None

    # --- set-up -------------------------------------------------------------------------------
    def __enter__(self):
        # Copies: a rebuild while a long run goes on must not swap (or, mid-link, hide) the binaries.
        bin_dir = self.work / "bin"
        bin_dir.mkdir(parents=True, exist_ok=True)
        built = {"cdi-importer": self.build / "importer" / "cdi-importer", "cdi-uploadserver": self.build / "server" / "cdi-uploadserver"}
        for name, b in built.items():
            if not b.exists():
                raise SystemExit(f"missing {b}: build first (cmake --build {self.build})")
            shutil.copy2(b, bin_dir / name)
        self.importer = bin_dir / "cdi-importer"
        self.server = bin_dir / "cdi-uploadserver"
        try:
            self._inputs()
            self._nginx()
            self._registry()
        except BaseException:  # stopped or failed while starting: the peers started so far go too
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc):
        for p in self.procs:
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        return False

    def _inputs(self):
        i = self.inputs
        stamp = i / f"done-{self.size}"
        if stamp.exists():
            return
        shutil.rmtree(i, ignore_errors=True)
        i.mkdir(parents=True)
        rng = random.Random(17)
        with open(i / "disk.raw", "wb") as f:
            f.truncate(self.size)
            for off in range(0, self.size - 65536 + 1, 65536):
                if rng.randrange(3) == 0:
                    f.seek(off)
                    f.write(os.urandom(65536))
            f.seek(self.size - 1)
            f.write(b"Z")
        q = lambda p: f"'{p}'"  # paths here are ours, without quotes
        sh(f"qemu-img convert -f raw -O qcow2 {q(i / 'disk.raw')} {q(i / 'disk.qcow2')}")
        sh(f"xz -T2 -1 -k -c {q(i / 'disk.raw')} > {q(i / 'disk.raw.xz')}")
        sh(f"qemu-img convert -f raw -O vdi {q(i / 'disk.raw')} {q(i / 'disk.vdi')} && gzip -1 -f {q(i / 'disk.vdi')}")
        sh(f"/usr/bin/python3 {q(REPO / 'tests/support/snappy_frame.py')} < {q(i / 'disk.raw')} > {q(i / 'disk.snappy')}")
        tree = i / "tree"
        (tree / "etc" / "deep").mkdir(parents=True)
        for n in range(40):
            (tree / ("etc/deep" if n % 2 else "etc") / f"file{n}").write_bytes(os.urandom(rng.randrange(1, 1 << 20)))
        sh(f"tar -C {q(tree)} -cf {q(i / 'tree.tar')} .")
        sh(f"bash {q(REPO / 'scripts/make-upload-pki.sh')} {q(i / 'tls')}")
        stamp.touch()

    def _nginx(self):
        d = self.work / "nginx"
        d.mkdir(parents=True, exist_ok=True)
        self.http_port = free_port()
        (d / "nginx.conf").write_text(f"""daemon off; master_process off; worker_processes 1; pid {d}/nginx.pid;
error_log {d}/error.log;
events {{ worker_connections 256; }}
http {{
  access_log off; sendfile on; default_type application/octet-stream;
  server {{ listen 127.0.0.1:{self.http_port}; root {self.inputs}; }}
}}
""")
        self.procs.append(subprocess.Popen(["nginx", "-p", str(d), "-c", str(d / "nginx.conf")]))
        if not wait_http(f"http://127.0.0.1:{self.http_port}/disk.qcow2"):
            raise SystemExit("nginx did not start")

    def _registry(self):
        if not shutil.which("docker-registry") or not shutil.which("skopeo"):
            self.log("registry scenario skipped: docker-registry or skopeo is missing (scripts/setup.sh installs them)")
            return
        d = self.work / "registry"
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
        port = free_port()
        (d / "registry.yml").write_text(f"""version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: "{d}/storage"
http:
  addr: 127.0.0.1:{port}
  secret: cdi-faults-upload-state-secret
""")
        self.procs.append(subprocess.Popen(["docker-registry", "serve", str(d / "registry.yml")], env={"PATH": os.environ["PATH"]},
                                           stdout=open(d / "registry.log", "wb"), stderr=subprocess.STDOUT))
        if not wait_http(f"http://127.0.0.1:{port}/v2/"):
            raise SystemExit("docker-registry did not start")
        (d / "spec.json").write_text(
            '{"tag": "v1", "images": [{"architecture": "amd64", "os": "linux", "layers": [{"compression": "gzip",'
            ' "level": 1, "entries": [{"path": "disk/", "type": "dir"},'
            f' {{"path": "disk/disk.qcow2", "type": "file", "source": "{self.inputs / "disk.qcow2"}"}}]}}]}}]}}')
        sh(f"/usr/bin/python3 '{REPO / 'tests/support/oci_image.py'}' '{d / 'spec.json'}' '{d / 'oci'}' > /dev/null")
        sh(f"skopeo --insecure-policy copy -q --dest-tls-verify=false --dest-no-creds 'oci:{d / 'oci'}:v1' "
           f"docker://127.0.0.1:{port}/faults/disk:v1")
        self.registry_ref = f"docker://127.0.0.1:{port}/faults/disk:v1"

    # --- the processes ------------------------------------------------------------------------
    def _upload(self, route, body, extra_header=None):
        tls = self.inputs / "tls"

        def start(d: Path):
            env = {
                "PATH": os.environ["PATH"], "TLS_KEY_FILE": str(tls / "tls.key"), "TLS_CERT_FILE": str(tls / "tls.crt"),
                "CLIENT_CERT_FILE": str(tls / "ca.crt"), "CLIENT_NAME": "client.upload-server.cdi.kubevirt.io",
                "UPLOAD_IMAGE_SIZE": str(self.size), "FILESYSTEM_OVERHEAD": "0", "LISTEN_ADDRESS": "127.0.0.1",
                "LISTEN_PORT": "0", "CDI_DATA_DIR": str(d / "data"), "CDI_SCRATCH_DIR": str(d / "scratch"),
                "CDI_TERMINATION_LOG": str(d / "termination-log"),
                "DEADLINE": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600)),
            }
            (d / "process.log").unlink(missing_ok=True)

            def client(run):
                port = None
                for _ in range(400):
                    m = re.search(rb"listening on .*:(\d+)\s*$", (d / "process.log").read_bytes(), re.M)
                    if m:
                        port = m.group(1).decode()
                        break
                    if run.proc.poll() is not None:
                        break
                    time.sleep(0.01)
                if port is None:
                    return None
                # The answer is kept (response.code, response.body) for the scripts that check its class.
                argv = ["curl", "-sS", "-o", str(d / "response.body"), "-w", "%{http_code}", "--cacert", str(tls / "ca.crt"), "--cert", str(tls / "client.crt"),
                        "--key", str(tls / "client.key"), "-X", "POST", "-T", str(self.inputs / body)]
                if extra_header:
                    argv += ["-H", extra_header]
                return subprocess.Popen(argv + [f"https://127.0.0.1:{port}{route}"], stdout=open(d / "response.code", "wb"),
                                        stderr=subprocess.DEVNULL)

            return Run(d, [str(self.server)], env, client)

        return start

    def _import(self, source, endpoint, extra=None):
        def start(d: Path):
            env = {
                "PATH": os.environ["PATH"], "CDI_DATA_DIR": str(d / "data"), "CDI_SCRATCH_DIR": str(d / "scratch"),
                "CDI_BLOCK_DEVICE": str(d / "no-block"), "CDI_TERMINATION_LOG": str(d / "termination-log"),
                "CDI_PROXY_CERT_DIR": str(d / "no-proxycerts"), "CDI_EXTRA_HEADERS_DIR": str(d / "no-extraheaders"),
                "CDI_METRICS_PORT": "0", "IMPORTER_SOURCE": source, "IMPORTER_ENDPOINT": endpoint,
                "IMPORTER_CONTENTTYPE": "kubevirt", "IMPORTER_IMAGE_SIZE": str(self.size), "FILESYSTEM_OVERHEAD": "0",
            }
            env.update(extra or {})
            return Run(d, [str(self.importer)], env)

        return start

    def scenarios(self):
        disk = lambda d: same_file(self.inputs / "disk.raw", d / "data" / "disk.img")
        tree = lambda d: same_tree(self.inputs / "tree", d / "data")
        http = f"http://127.0.0.1:{self.http_port}"
        out = [
            Scenario("upload-sync-qcow2", self._upload("/v1beta1/upload", "disk.qcow2"), disk, upload=True),
            Scenario("upload-async-xz", self._upload("/v1beta1/upload-async", "disk.raw.xz"), disk, upload=True),
            Scenario("upload-archive", self._upload("/v1beta1/upload-archive", "tree.tar"), tree, upload=True),
            Scenario("clone-target", self._upload("/v1beta1/upload", "disk.snappy", "x-cdi-content-type: blockdevice-clone"), disk, upload=True),
            Scenario("http-qcow2", self._import("http", f"{http}/disk.qcow2"), disk),
            Scenario("http-vdi-gz-staged", self._import("http", f"{http}/disk.vdi.gz"), disk),
        ]
        if self.registry_ref:
            out.append(Scenario("registry-containerdisk", self._import("registry", self.registry_ref, {"INSECURE_TLS": "true"}), disk))
        return out
