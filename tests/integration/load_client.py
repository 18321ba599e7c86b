#!/usr/bin/python3
"""load_client.py - a bounded HTTPS load generator for `serve` that records every response.

Used by the reliability tests (policy reload and certificate rotation under load) and by
bench/soak.sh; wrk cannot tell which policy set or which certificate answered each request.

  load_client.py --url https://127.0.0.1:PORT/mutate --cacert CA --body REVIEW.json
                 [--seconds S | --until-file F] [--threads N] [--mode keep|new] [--out SUMMARY.json]
                 [--ready-file F] [--pause S] [--window S]

--mode keep: one kept-alive connection per thread (as kube-apiserver does); new: a new TLS
connection per request. Every response is checked: HTTP 200, an AdmissionReview whose uid is the
request's. A request that raises or answers otherwise is a failure (the first few are kept).
The summary (JSON on stdout or --out) has the request and failure counts, latency p50/p99/max in
ms (and per 10 s window for the soak), the count of each policy-hash value found in the patches,
and for each TLS connection its start time (seconds since the client started) and the SHA-256
fingerprint of the server certificate it saw.
"""
import argparse
import base64
import hashlib
import http.client
import json
import os
import ssl
import threading
import time
import uuid


def pct(sorted_ms, p):
    if not sorted_ms:
        return None
    return sorted_ms[min(len(sorted_ms) - 1, int(p * len(sorted_ms)))]


class Worker(threading.Thread):
    def __init__(self, args, host, port, path, body, ctx, t0, stop):
        super().__init__(daemon=True)
        self.a, self.host, self.port, self.path = args, host, port, path
        self.body, self.ctx, self.t0, self.stop = body, ctx, t0, stop
        self.lat = []          # (t_end, ms)
        self.failures = []
        self.nfail = 0
        self.hashes = {}
        self.conns = []        # (t_start, fingerprint)
        self.conn = None
        self.first = threading.Event()  # set after the first answered request

    def connect(self):
        c = http.client.HTTPSConnection(self.host, self.port, context=self.ctx, timeout=self.a.timeout)
        t = time.monotonic() - self.t0
        c.connect()
        der = c.sock.getpeercert(binary_form=True)
        self.conns.append((round(t, 3), hashlib.sha256(der).hexdigest()))
        return c

    def one(self):
        uid = str(uuid.uuid4())
        review = dict(self.body)
        review["request"] = dict(review["request"], uid=uid)
        data = json.dumps(review).encode()
        if self.conn is None or self.a.mode == "new":
            if self.conn is not None:
                self.conn.close()
            self.conn = self.connect()
        self.conn.request("POST", self.path, body=data, headers={"Content-Type": "application/json"})
        r = self.conn.getresponse()
        payload = r.read()
        if r.status != 200:
            raise RuntimeError(f"HTTP {r.status}: {payload[:200]!r}")
        resp = json.loads(payload)["response"]
        if resp.get("uid") != uid:
            raise RuntimeError(f"uid {resp.get('uid')} != {uid}")
        h = "none"
        if "patch" in resp:
            for op in json.loads(base64.b64decode(resp["patch"])):
                if op.get("path") == "/metadata/annotations/ml-autoscaling.io~1policy-hash":
                    h = op["value"]
        elif not resp.get("allowed"):
            h = "denied: " + resp.get("status", {}).get("message", "")[:80]
        self.hashes[h] = self.hashes.get(h, 0) + 1

    def run(self):
        while not self.stop.is_set():
            t = time.monotonic()
            try:
                self.one()
                self.first.set()
                self.lat.append((round(time.monotonic() - self.t0, 3), (time.monotonic() - t) * 1000))
            except Exception as e:  # noqa: BLE001 - every failure is counted and reported
                self.nfail += 1
                if len(self.failures) < 5:
                    self.failures.append(f"{time.monotonic() - self.t0:.2f}s: {type(e).__name__}: {e}")
                if self.conn is not None:
                    self.conn.close()
                self.conn = None
                time.sleep(0.05)
            if self.a.pause:
                time.sleep(self.a.pause)
        if self.conn is not None:
            self.conn.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--cacert", required=True)
    ap.add_argument("--body", required=True)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--until-file", help="run until this file exists (instead of --seconds)")
    ap.add_argument("--ready-file", help="created once every thread has had its first answer")
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--mode", choices=("keep", "new"), default="keep")
    ap.add_argument("--pause", type=float, default=0, help="seconds each thread sleeps between requests")
    ap.add_argument("--timeout", type=float, default=10)
    ap.add_argument("--window", type=float, default=10, help="latency window length (s)")
    ap.add_argument("--out")
    a = ap.parse_args()
    u = a.url.split("://", 1)[1]
    hostport, path = u.split("/", 1)
    host, port = hostport.rsplit(":", 1)
    ctx = ssl.create_default_context(cafile=a.cacert)
    body = json.load(open(a.body))
    stop = threading.Event()
    t0 = time.monotonic()
    ws = [Worker(a, host, int(port), "/" + path, body, ctx, t0, stop) for _ in range(a.threads)]
    for w in ws:
        w.start()
    if a.ready_file:
        for w in ws:
            w.first.wait(a.timeout * 3)
        open(a.ready_file, "w").close()
    if a.until_file:
        while not os.path.exists(a.until_file) and time.monotonic() - t0 < 3600:
            time.sleep(0.1)
    else:
        time.sleep(a.seconds)
    stop.set()
    for w in ws:
        w.join(a.timeout + 5)
    lat = sorted(ms for w in ws for _, ms in w.lat)
    windows = {}
    for w in ws:
        for t, ms in w.lat:
            windows.setdefault(int(t // a.window), []).append(ms)
    hashes = {}
    for w in ws:
        for k, v in w.hashes.items():
            hashes[k] = hashes.get(k, 0) + v
    out = {
        "seconds": round(time.monotonic() - t0, 2),
        "requests": len(lat), "failed": sum(w.nfail for w in ws),
        "failures": [f for w in ws for f in w.failures][:10],
        "p50_ms": pct(lat, 0.50), "p99_ms": pct(lat, 0.99), "max_ms": lat[-1] if lat else None,
        "windows": [{"start_s": k * a.window, "requests": len(v), "p99_ms": pct(sorted(v), 0.99)}
                    for k, v in sorted(windows.items())],
        "policy_hashes": hashes,
        "connections": sorted(c for w in ws for c in w.conns),
    }
    text = json.dumps(out, indent=1)
    if a.out:
        open(a.out, "w").write(text + "\n")
    else:
        print(text)


if __name__ == "__main__":
    main()
