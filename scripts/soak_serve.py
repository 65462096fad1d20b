#!/usr/bin/env python3
"""Soak test for `vigil serve` on loopback: N requests of mixed good and bad uploads from C keep-alive clients,
while one more client polls /health. Starts the server itself (a Release build), reads its RSS from /proc.

Uploads, drawn round-robin: valid JPEG/PNG files (--good DIR, e.g. CIFAR-10 JPEGs), the hostile JPEGs of
tests/fixtures/hostile_jpeg (plus --bad DIR if given), truncated and bit-flipped copies of the good files, text
renamed .jpg, empty files, and requests with a missing file field. Reports 5xx answers, dropped connections,
p50/p99 latency, answers by status, RSS after warm-up and at the end, and /health latency (p50, p99, max).
Exits non-zero when the server died, answered any 5xx other than 503 (queue full), or dropped a connection.

usage: scripts/soak_serve.py --vigil build/infer/vigil --model M.safetensors --good DIR [--requests 100000]
                             [--clients 16] [--bad DIR] [--json OUT]
"""
import argparse
import glob
import http.client
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def multipart(name, data, field="file"):
    boundary = uuid.uuid4().hex
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{name}\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode()
    body = head + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def build_uploads(good_dir, bad_dir, limit_good=200):
    """(kind, filename, bytes, field) tuples: the mix every client cycles through."""
    good = sorted(glob.glob(os.path.join(good_dir, "**", "*.jpg"), recursive=True) +
                  glob.glob(os.path.join(good_dir, "**", "*.png"), recursive=True))[:limit_good]
    if not good:
        sys.exit(f"soak_serve: no .jpg/.png files under {good_dir}")
    hostile = sorted(glob.glob(os.path.join(ROOT, "tests", "fixtures", "hostile_jpeg", "*")))
    if bad_dir:
        hostile += sorted(glob.glob(os.path.join(bad_dir, "*")))
    rng = random.Random(20261206)
    uploads = []
    for i, path in enumerate(good):
        data = open(path, "rb").read()
        uploads.append(("good", os.path.basename(path), data, "file"))
        if i % 4 == 0:
            uploads.append(("truncated", "cut.jpg", data[: max(1, len(data) // 2)], "file"))
        if i % 4 == 1:
            flipped = bytearray(data)
            for _ in range(8):
                flipped[rng.randrange(2, len(flipped))] ^= 1 << rng.randrange(8)
            uploads.append(("flipped", "flip.jpg", bytes(flipped), "file"))
    for path in hostile:
        uploads.append(("hostile", os.path.basename(path), open(path, "rb").read(), "file"))
    uploads.append(("text", "notes.jpg", b"just some text, not an image\n" * 20, "file"))
    uploads.append(("empty", "empty.jpg", b"", "file"))
    uploads.append(("nofield", "x.jpg", open(good[0], "rb").read(), "other"))
    rng.shuffle(uploads)
    return uploads


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.latency = []
        self.status = {}
        self.dropped = 0
        self.by_kind = {}

    def add(self, kind, status, ms):
        with self.lock:
            self.latency.append(ms)
            self.status[status] = self.status.get(status, 0) + 1
            key = f"{kind}:{status}"
            self.by_kind[key] = self.by_kind.get(key, 0) + 1


def client(port, uploads, start, count, stats, stop):
    conn = None
    for i in range(count):
        if stop.is_set():
            return
        kind, name, data, field = uploads[(start + i) % len(uploads)]
        body, ctype = multipart(name, data, field)
        t0 = time.perf_counter()
        try:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            conn.request("POST", "/predict_image", body, {"Content-Type": ctype})
            resp = conn.getresponse()
            resp.read()
            stats.add(kind, resp.status, (time.perf_counter() - t0) * 1000)
            if resp.getheader("Connection", "").lower() == "close":
                conn.close()
                conn = None
        except (OSError, http.client.HTTPException):
            with stats.lock:
                stats.dropped += 1
            if conn is not None:
                conn.close()
            conn = None


def health_poller(port, out, stop):
    while not stop.is_set():
        t0 = time.perf_counter()
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            c.request("GET", "/health")
            r = c.getresponse()
            r.read()
            c.close()
            out.append(((time.perf_counter() - t0) * 1000, r.status))
        except (OSError, http.client.HTTPException):
            out.append((float("inf"), 0))
        time.sleep(0.05)


def pct(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100.0 * (len(values) - 1))))]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vigil", default=os.path.join(ROOT, "build", "infer", "vigil"))
    ap.add_argument("--model", required=True)
    ap.add_argument("--good", required=True)
    ap.add_argument("--bad")
    ap.add_argument("--requests", type=int, default=100000)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--threads", type=int, default=1, help="model threads of the server")
    ap.add_argument("--json")
    args = ap.parse_args()

    uploads = build_uploads(args.good, args.bad)
    port = free_port()
    server_err = open(os.path.join(os.environ.get("TMPDIR", "/tmp"), f"soak_serve.{os.getpid()}.stderr"), "w+b")
    server = subprocess.Popen([args.vigil, "serve", "--model", args.model, "--port", str(port), "--device", "cpu",
                               "--threads", str(args.threads), "--log", "/dev/null"],
                              stdout=subprocess.DEVNULL, stderr=server_err)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/health")
            if c.getresponse().status == 200:
                break
        except OSError:
            time.sleep(0.1)
    else:
        server.kill()
        server_err.seek(0)
        sys.exit("soak_serve: the server did not answer /health within 30 s: " + server_err.read().decode())

    stats, health, stop = Stats(), [], threading.Event()
    poller = threading.Thread(target=health_poller, args=(port, health, stop))
    poller.start()
    # Warm-up: the first 2% of the requests, then RSS is taken as the baseline.
    warm = max(args.clients, args.requests // 50)
    per = [warm // args.clients] * args.clients
    threads = [threading.Thread(target=client, args=(port, uploads, k * 7919, per[k], stats, stop))
               for k in range(args.clients)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    rss_warm = rss_mb(server.pid)
    t_start = time.time()
    rest = args.requests - sum(per)
    per = [rest // args.clients + (1 if k < rest % args.clients else 0) for k in range(args.clients)]
    threads = [threading.Thread(target=client, args=(port, uploads, k * 104729, per[k], stats, stop))
               for k in range(args.clients)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    elapsed = time.time() - t_start
    stop.set()
    poller.join()
    alive = server.poll() is None
    rss_end = rss_mb(server.pid) if alive else float("nan")
    if alive:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    health_ms = [ms for ms, st in health if st == 200]
    report = {
        "requests": sum(stats.status.values()) + stats.dropped,
        "clients": args.clients,
        "seconds": round(elapsed, 1),
        "server_alive": alive,
        "server_exit": server.returncode,
        "status": {str(k): v for k, v in sorted(stats.status.items())},
        "by_kind": dict(sorted(stats.by_kind.items())),
        "http_5xx": sum(v for k, v in stats.status.items() if k >= 500),
        "http_5xx_not_503": sum(v for k, v in stats.status.items() if k >= 500 and k != 503),
        "dropped_connections": stats.dropped,
        "latency_ms_p50": round(pct(stats.latency, 50), 2),
        "latency_ms_p99": round(pct(stats.latency, 99), 2),
        "rss_mb_after_warmup": round(rss_warm, 1),
        "rss_mb_end": round(rss_end, 1),
        "health_polls": len(health),
        "health_failed": len(health) - len(health_ms),
        "health_ms_p50": round(pct(health_ms, 50), 2),
        "health_ms_p99": round(pct(health_ms, 99), 2),
        "health_ms_max": round(max(health_ms), 2) if health_ms else None,
    }
    print(json.dumps(report, indent=1))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
    bad = not alive or report["http_5xx_not_503"] > 0 or stats.dropped > 0
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
