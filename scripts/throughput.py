#!/usr/bin/env python3
"""Worker throughput with REELGPU_CONCURRENCY = N (issue 20): exports per minute through the
real `reelgpu worker` loop, N jobs at once on one device.

A RunPod-protocol server on loopback (job take, result post, heartbeat, as
../shared/runpod-protocol.md describes) hands out a fixed mix of exports of one generated
clip (blur overlay, 9:16 crop, a two-clip reel with a dissolve); storage is a local folder
(`R2_ENDPOINT=file://...`). Each N runs in alternating rounds in the same process, so the
ratios compare runs that shared the machine's state. The clock for a run starts at its first
job take and stops at its last result; worker start-up (device, self-check) is not counted.

    python3 scripts/throughput.py --reelgpu PATH [--jobs 12] [--concurrency 1,2,4]
        [--rounds 1] [--seconds 2] [--size 1280x720] [--allow-cpu]

The worker decodes as it does in production (NVDEC when a trial decode works). --allow-cpu
lets it run on a CPU adapter (lavapipe), which it otherwise refuses.

Prints a Markdown table; every job must succeed, or it exits 1 naming the job and the error.
"""

import argparse
import http.server
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path


class Protocol:
    """The platform's side: a queue of jobs, the results that come back, the time of each."""

    def __init__(self, jobs):
        self.lock = threading.Lock()
        self.queue = list(jobs)
        self.total = len(jobs)
        self.results = {}
        self.first_take = None
        self.last_result = None
        self.peak_in_progress = 0
        self.done = threading.Event()

    def take(self):
        with self.lock:
            if not self.queue:
                return None
            if self.first_take is None:
                self.first_take = time.monotonic()
            return self.queue.pop(0)

    def result(self, job_id, body):
        with self.lock:
            if job_id in self.results:
                raise RuntimeError(f"a second result for {job_id}")
            self.results[job_id] = body
            self.last_result = time.monotonic()
            if len(self.results) == self.total:
                self.done.set()

    def ping(self, ids):
        with self.lock:
            self.peak_in_progress = max(self.peak_in_progress, len(ids))


def handler_for(protocol):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def reply(self, code, body=b""):
            self.send_response(code)
            self.send_header("Content-Length", str(len(body)))
            if body:
                self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            path, _, query = self.path.partition("?")
            if path.startswith("/take"):
                job = protocol.take()
                if job is None:
                    return self.reply(204)
                return self.reply(200, json.dumps(job).encode())
            if path.startswith("/ping"):
                for part in query.split("&"):
                    if part.startswith("job_id="):
                        ids = [i for i in part[len("job_id="):].split(",") if i]
                        protocol.ping(ids)
                return self.reply(200)
            self.reply(404)

        def do_POST(self):
            length = int(self.headers.get("Content-Length", 0))
            body = self.rfile.read(length)
            path = self.path.partition("?")[0]
            if path.startswith("/done/"):
                protocol.result(path[len("/done/"):], json.loads(body or b"{}"))
                return self.reply(200)
            self.reply(404)

    return Handler


def mix(count, seconds, size):
    w, h = size
    frames = int(seconds * 30)
    crop_w = (h * 9 // 16) // 2 * 2
    kinds = [
        ("blur", {"type": "overlay", "params": {"effect_type": "blur", "highlight_regions": [
            {"start_frame": 0, "end_frame": frames, "x": w * 0.4, "y": h * 0.5,
             "radius_x": w * 0.06, "radius_y": h * 0.2, "opacity": 1.0}]}}),
        ("crop 9:16", {"type": "framing", "params": {
            "crop_keyframes": [
                {"frame": 0, "x": 0, "y": 0, "width": crop_w, "height": h},
                {"frame": frames - 1, "x": w - crop_w, "y": 0, "width": crop_w, "height": h}],
            "output_width": 540, "output_height": 960,
            "start_frame": 0, "end_frame": frames - 1}}),
        ("reel", {"type": "framing", "params": {
            "target_width": 540, "target_height": 960, "fps": 30,
            "transition": {"type": "dissolve", "duration": 0.3},
            "clips_data": [
                {"source_start_time": 0.0, "source_end_time": seconds * 0.6},
                {"source_start_time": seconds * 0.4, "source_end_time": seconds,
                 "rotation": -3}]}}),
    ]
    jobs = []
    for i in range(count):
        name, spec = kinds[i % len(kinds)]
        jid = f"t{i:03d}"
        jobs.append((name, {"id": jid, "input": dict(
            spec, job_id=jid, input_video_key="input/clip.mp4")}))
    return jobs


def run_worker(reelgpu, concurrency, jobs, storage, allow_cpu, timeout):
    names = {j["id"]: n for n, j in jobs}
    protocol = Protocol([j for _, j in jobs])
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler_for(protocol))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    env = dict(os.environ,
               RUNPOD_WEBHOOK_GET_JOB=f"{base}/take/$ID",
               RUNPOD_WEBHOOK_POST_OUTPUT=f"{base}/done/$ID",
               RUNPOD_WEBHOOK_PING=f"{base}/ping/$RUNPOD_POD_ID",
               RUNPOD_PING_INTERVAL="1000",
               RUNPOD_POD_ID="throughput",
               R2_ENDPOINT=f"file://{storage}",
               REELGPU_CONCURRENCY=str(concurrency))
    if allow_cpu:
        env["REELGPU_ALLOW_CPU"] = "1"
    env.setdefault("REELGPU_LOG", "warn")
    log = open(storage.parent / f"worker-{concurrency}.log", "w")
    proc = subprocess.Popen([reelgpu, "worker"], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        # wait for every result, but not for a worker that has exited
        deadline = time.monotonic() + timeout
        finished = False
        while not finished and proc.poll() is None and time.monotonic() < deadline:
            finished = protocol.done.wait(0.2)
        finished = finished or protocol.done.is_set()
        if proc.poll() is not None and not finished:
            raise RuntimeError(f"the worker exited {proc.returncode} "
                               f"(log: {storage.parent}/worker-{concurrency}.log)")
        if not finished:
            raise RuntimeError(f"{len(protocol.results)} of {protocol.total} results "
                               f"after {timeout} s")
    except RuntimeError:
        log.flush()
        tail = (storage.parent / f"worker-{concurrency}.log").read_text().splitlines()[-15:]
        print("\n".join(["throughput: the worker's log ends:"] + tail), file=sys.stderr)
        raise
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        server.shutdown()
        server.server_close()
        log.close()
    adapter = None
    for jid, body in sorted(protocol.results.items()):
        output = body.get("output") or {}
        if "error" in body or output.get("status") != "success":
            why = body.get("error") or output.get("error") or json.dumps(body)[:300]
            raise RuntimeError(f"job {jid} ({names[jid]}) failed: {why}")
        adapter = adapter or output.get("adapter")
    wall = protocol.last_result - protocol.first_take
    return wall, protocol.peak_in_progress, adapter


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reelgpu", required=True)
    ap.add_argument("--jobs", type=int, default=12, help="jobs per run")
    ap.add_argument("--concurrency", default="1,2,4")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--seconds", type=float, default=2.0, help="length of the generated clip")
    ap.add_argument("--size", default="1280x720")
    ap.add_argument("--allow-cpu", action="store_true", help="let the worker use lavapipe")
    ap.add_argument("--timeout", type=float, default=900, help="seconds per run")
    args = ap.parse_args()
    ns = [int(n) for n in args.concurrency.split(",")]
    w, h = (int(v) for v in args.size.split("x"))
    ffmpeg = os.environ.get("REELGPU_FFMPEG") or shutil.which("ffmpeg") or "ffmpeg"
    work = Path(tempfile.mkdtemp(prefix="reelgpu-throughput.", dir=os.environ.get("TMPDIR")))
    try:
        storage = work / "storage"
        (storage / "input").mkdir(parents=True)
        subprocess.run(
            [ffmpeg, "-v", "error", "-nostdin", "-y",
             "-f", "lavfi", "-i", f"testsrc2=size={w}x{h}:rate=30:duration={args.seconds}",
             "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={args.seconds}",
             "-c:v", "libx264", "-preset", "ultrafast", "-g", "30", "-pix_fmt", "yuv420p",
             "-c:a", "aac", str(storage / "input/clip.mp4")],
            check=True)
        jobs = mix(args.jobs, args.seconds, (w, h))
        walls = {n: [] for n in ns}
        peaks = {n: 0 for n in ns}
        adapter = None
        for r in range(args.rounds):
            for n in ns:
                wall, peak, adapter = run_worker(args.reelgpu, n, jobs, storage,
                                                 args.allow_cpu, args.timeout)
                walls[n].append(wall)
                peaks[n] = max(peaks[n], peak)
                shutil.rmtree(storage / "output", ignore_errors=True)
                print(f"throughput: round {r + 1}, N={n}: {args.jobs} jobs in {wall:.2f} s",
                      file=sys.stderr, flush=True)
        kinds = sorted({name for name, _ in jobs})
        print(f"\n{args.jobs} jobs per run ({', '.join(kinds)}) of a {args.seconds:g} s "
              f"{w}x{h} clip, {args.rounds} round(s), adapter {adapter or 'not reported'}:\n")
        print("| jobs at once | wall s (median) | exports/min | vs N=1 | most at once (heartbeats) |")
        print("|---:|---:|---:|---:|---:|")
        base = None
        for n in ns:
            wall = statistics.median(walls[n])
            rate = args.jobs * 60.0 / wall
            base = base or rate
            print(f"| {n} | {wall:.2f} | {rate:.1f} | {rate / base:.2f} | {peaks[n]} |")
    except RuntimeError as e:
        print(f"throughput: {e}", file=sys.stderr)
        sys.exit(1)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
