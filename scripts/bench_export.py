#!/usr/bin/env python3
"""Export benchmark: the streaming export against a plain ffmpeg transcode, side by side.

Generates a 1080p30 clip with audio (10 s, and 60 s for the memory check), then runs, in one
process, alternating rounds of:

  floor       ffmpeg -i src -c:v libx264 -preset veryfast -crf 23 -pix_fmt yuv420p
              -c:a aac -b:a 128k -movflags +faststart out.mp4   (same encoder settings)
  no-effect   reelgpu export, overlay with no active region (every frame skips the GPU)
  blur        reelgpu export, overlay blur, two players active on every frame
  spotlight   reelgpu export, overlay spotlight, same players
  crop 9:16   reelgpu export, framing: a panning 608x1080 crop resized to 1080x1920
  blur 70%    reelgpu export, overlay blur, the two players active on 70% of the frames
  §9 overlay  reelgpu export, a §9 job: a keyframed highlight (dim, fill, stroke) on every frame
  render_overlay call
              reelgpu call render_overlay with the same highlight as the app sends it, on a
              storage folder holding the source (download and upload are file copies; the call
              encodes as the app does: x264 fast, AAC 192k)
  original    the original design (benches/original_design.py: Python + OpenCV per frame,
              raw frames to a temp file, then x264) on the same job as blur 70%: run in
              alternating rounds with blur 70% (--design-rounds)

For each run it samples the whole process tree (reelgpu plus its ffmpeg children) every
20 ms and keeps the peak of the summed RSS. After every run it checks that the output folder
holds only the output and that TMPDIR (a fresh folder) stayed empty.

Then the worker's throughput (scripts/throughput.py): a mix of exports through the real
`reelgpu worker` loop and a RunPod-protocol server on loopback, with REELGPU_CONCURRENCY =
1, 2 and 4 (--throughput-jobs per run, 0 skips).

Usage: bash scripts/bench_export.sh [--rounds N] [--seconds S] [--long-seconds L]
       [--throughput-jobs J] [--throughput-seconds T]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# the build's folder as cargo reports it (bench_export.sh sets it; CARGO_TARGET_DIR respected)
TARGET = Path(os.environ.get("REELGPU_TARGET_DIR") or os.environ.get("CARGO_TARGET_DIR")
              or ROOT / "target")
BIN = TARGET / "release" / "reelgpu"
DESIGN_PY = ROOT / ".venv-bench" / "bin" / "python3"
FFMPEG = os.environ.get("REELGPU_FFMPEG", "ffmpeg")
W, H, FPS = 1920, 1080, 30


def tree_rss_kib(pid):
    """Summed VmRSS of pid and all its descendants, in KiB."""
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        break
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    stack.extend(int(c) for c in f.read().split())
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            pass
    return total


def timed(cmd, env):
    """Runs cmd; returns (wall seconds, peak tree RSS in MiB, stdout)."""
    peak = [0]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], tree_rss_kib(proc.pid))
            done.wait(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    out, err = proc.communicate()
    wall = time.perf_counter() - start
    done.set()
    sampler.join()
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {' '.join(map(str, cmd))}\n{err.decode()[-3000:]}")
    return wall, peak[0] / 1024, out.decode()


def generate(path, seconds):
    if path.exists():
        return
    tmp = path.with_suffix(".partial.mp4")
    subprocess.run(
        [FFMPEG, "-v", "error", "-y", "-nostdin",
         "-f", "lavfi", "-i", f"testsrc2=size={W}x{H}:rate={FPS}:duration={seconds}",
         "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}",
         "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p",
         "-c:a", "aac", "-b:a", "128k", str(tmp)],
        check=True,
    )
    tmp.rename(path)


def jobs(frames):
    last = frames - 1
    players = [
        {"start_frame": 0, "end_frame": last, "x": 760, "y": 560,
         "radius_x": 110, "radius_y": 240, "opacity": 1.0},
        {"start_frame": 0, "end_frame": last, "x": 1180, "y": 520,
         "radius_x": 100, "radius_y": 220, "opacity": 0.8},
    ]
    some = [dict(p, start_frame=int(frames * 0.15), end_frame=int(frames * 0.85) - 1)
            for p in players]
    return {
        "blur 70%": {"type": "overlay", "params": {"effect_type": "blur", "highlight_regions": some}},
        "no-effect": {"type": "overlay", "params": {"effect_type": "blur", "highlight_regions": []}},
        "blur": {"type": "overlay", "params": {"effect_type": "blur", "highlight_regions": players}},
        "spotlight": {"type": "overlay",
                      "params": {"effect_type": "spotlight", "highlight_regions": players}},
        "§9 overlay": {"type": "overlay", "params": v2_params(frames)},
        "crop 9:16": {"type": "framing", "params": {
            "crop_keyframes": [
                {"frame": 0, "x": 200, "y": 0, "width": 608, "height": 1080},
                {"frame": last, "x": 1100, "y": 0, "width": 608, "height": 1080},
            ],
            "output_width": 1080, "output_height": 1920,
            "start_frame": 0, "end_frame": last}},
    }


def v2_params(frames):
    """A §9 highlight on every frame: a player followed through three keyframes."""
    end = frames / FPS
    kf = lambda t, x: {"time": t, "x": x, "y": 560, "radiusX": 110, "radiusY": 240,
                       "color": "#FFD400"}
    return {"effect_type": "dark_overlay",
            "overlay_settings": {"stroke_width": 3, "fill_enabled": True, "dim_strength": 0.3},
            "highlight_regions": [{"start_time": 0.0, "end_time": end, "keyframes": [
                kf(0.0, 600), kf(end / 2, 960), kf(end, 1300)]}]}


CALL_USER = "production/users/bench/profiles/00000000"


def call_kwargs(frames):
    """The §9 overlay job's highlight as the app's render_overlay call."""
    p = v2_params(frames)
    return {"job_id": "bench", "user_id": CALL_USER, "input_key": "reels/src.mp4",
            "output_key": "overlays/out.mp4", "effect_type": p["effect_type"],
            "overlay_settings": p["overlay_settings"],
            "highlight_regions": [dict(r, enabled=True, label="bench", fps=FPS)
                                  for r in p["highlight_regions"]],
            "text_layers": []}


def commands(src, work, job_files):
    out = work / "out"
    cmds = {"floor": [FFMPEG, "-v", "error", "-nostdin", "-y", "-i", str(src),
                      "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p",
                      "-c:a", "aac", "-b:a", "128k", "-movflags", "+faststart",
                      str(out / "floor.mp4")]}
    for name, job in job_files.items():
        cmds[name] = [str(BIN), "export", "--json", "--decoder", "software", "--job", str(job),
                      "--input", str(src), "--output",
                      str(out / f"{name.replace(' ', '_').replace('%', '')}.mp4")]
    storage = work / "storage"
    reel = storage / CALL_USER / "reels" / "src.mp4"
    reel.parent.mkdir(parents=True, exist_ok=True)
    if reel.exists():
        reel.unlink()
    os.link(src, reel)
    kwargs = work / f"kwargs_{src.stem}.json"
    frames = int(round(float(src.stem.rsplit("_", 1)[1].rstrip("s")) * FPS))
    kwargs.write_text(json.dumps(call_kwargs(frames)))
    cmds["render_overlay call"] = [str(BIN), "call", "render_overlay", "--decoder", "software",
                                   "--kwargs", str(kwargs), "--storage", str(storage)]
    if DESIGN_PY.exists():
        cmds["original"] = [str(DESIGN_PY), str(ROOT / "benches" / "original_design.py"),
                            str(src), str(out / "original.mp4"), str(job_files["blur 70%"])]
    return cmds


def run_once(name, cmd, env, work):
    out = work / "out"
    for f in out.iterdir():
        f.unlink()
    call_out = work / "storage" / CALL_USER / "overlays"
    if call_out.exists():
        for f in call_out.iterdir():
            f.unlink()
    wall, rss, stdout = timed(cmd, env)
    is_call = name == "render_overlay call"
    left = sorted(p.name for p in (call_out if is_call else out).iterdir())
    tmp_left = sorted(os.listdir(env["TMPDIR"]))
    if len(left) != 1 or tmp_left:
        sys.exit(f"{name}: files left beyond the output: {left} {tmp_left}")
    summary = None
    if name not in ("floor", "original"):
        summary = json.loads(stdout.strip().splitlines()[-1])
    if is_call:
        # the call's final item carries the same busy times as the export's summary
        t = summary["timings"]
        summary = {"decode_s": t["decode_busy_s"], "gpu_s": t["gpu_busy_s"],
                   "encode_s": t["encode_busy_s"], "frames": summary["frames"]}
    return wall, rss, summary


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=8, help="rounds of floor and no-effect")
    ap.add_argument("--effect-rounds", type=int, default=1, help="rounds of the effects")
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--long-seconds", type=int, default=60, help="0 skips the memory runs")
    ap.add_argument("--design-rounds", type=int, default=3,
                    help="rounds of blur 70%% and the original design, alternating")
    ap.add_argument("--throughput-jobs", type=int, default=12,
                    help="jobs per run of the worker throughput rows (N = 1, 2, 4); 0 skips")
    ap.add_argument("--throughput-seconds", type=float, default=2.0)
    ap.add_argument("--only", default="",
                    help="comma-separated runs to make (floor always runs); default all")
    a = ap.parse_args()
    only = {n.strip() for n in a.only.split(",") if n.strip()}

    work = TARGET / "bench-export"
    (work / "out").mkdir(parents=True, exist_ok=True)
    tmpdir = Path(tempfile.mkdtemp(prefix="reelgpu-bench-tmp."))
    env = dict(os.environ, TMPDIR=str(tmpdir))

    src = work / f"src_{W}x{H}_{a.seconds}s.mp4"
    long_src = work / f"src_{W}x{H}_{a.long_seconds}s.mp4"
    generate(src, a.seconds)
    if a.long_seconds:
        generate(long_src, a.long_seconds)

    def write_jobs(frames, tag):
        files = {}
        for name, job in jobs(frames).items():
            p = work / f"job_{tag}_{name.replace(' ', '_').replace(':', '').replace('%', '')}.json"
            p.write_text(json.dumps(job))
            files[name] = p
        return files

    cmds = commands(src, work, write_jobs(a.seconds * FPS, "short"))
    if only:
        unknown = only - set(cmds)
        if unknown:
            sys.exit(f"--only: no run named {sorted(unknown)} (runs: {sorted(cmds)})")
        cmds = {k: v for k, v in cmds.items() if k == "floor" or k in only}
    results = {name: [] for name in cmds}
    gpu_s = {name: [] for name in cmds}
    for r in range(max(a.rounds, a.design_rounds, a.effect_rounds)):
        for name, cmd in cmds.items():
            paired = name in ("blur 70%", "original")
            # the §9 job and the call it corresponds to alternate like the design pair
            if name in ("§9 overlay", "render_overlay call"):
                if r >= max(a.effect_rounds, 1):
                    continue
                wall, rss, summary = run_once(name, cmd, env, work)
                results[name].append((wall, rss))
                gpu_s[name].append(summary)
                print(f"round {r + 1} {name:10s} {wall:7.2f} s  {rss:7.1f} MiB", file=sys.stderr)
                continue
            if paired and r >= a.design_rounds:
                continue
            if not paired and r >= a.rounds:
                continue
            if not paired and r >= a.effect_rounds and name not in ("floor", "no-effect"):
                continue
            wall, rss, summary = run_once(name, cmd, env, work)
            results[name].append((wall, rss))
            if summary:
                gpu_s[name].append(summary)
            print(f"round {r + 1} {name:10s} {wall:7.2f} s  {rss:7.1f} MiB", file=sys.stderr)

    long_rss = {}
    long_cmds = (commands(long_src, work, write_jobs(a.long_seconds * FPS, "long"))
                 if a.long_seconds else {})
    for name in [n for n in ["floor", "no-effect", "blur"] if n in cmds and long_cmds]:
        _, rss, _ = run_once(name, long_cmds[name], env, work)
        long_rss[name] = rss
        print(f"long  {name:10s} {rss:7.1f} MiB", file=sys.stderr)
    os.rmdir(tmpdir)

    frames = a.seconds * FPS
    floor = statistics.median(w for w, _ in results["floor"])
    print(f"\n{W}x{H} {FPS} fps, {a.seconds} s ({frames} frames) with AAC audio; "
          f"median of {a.rounds} alternating rounds for floor and no-effect, "
          f"{a.effect_rounds} for the effects; RSS = peak of the summed process tree\n")
    print("| run | time (s) | fps | × floor | peak RSS 10 s (MiB) | decode / GPU / encode busy (s) |"
          f" peak RSS {a.long_seconds} s (MiB) |")
    print("|---|---:|---:|---:|---:|---|---:|")
    for name, runs in results.items():
        if not runs:
            continue
        wall = statistics.median(w for w, _ in runs)
        rss = max(r for _, r in runs)
        busy = "—"
        if gpu_s[name]:
            s = gpu_s[name][len(gpu_s[name]) // 2]
            busy = f"{s['decode_s']:.2f} / {s['gpu_s']:.2f} / {s['encode_s']:.2f}"
        lr = f"{long_rss[name]:.1f}" if name in long_rss else "—"
        print(f"| {name} | {wall:.2f} | {frames / wall:.1f} | {wall / floor:.2f} | {rss:.1f} |"
              f" {busy} | {lr} |")
    if results.get("original") and results.get("blur 70%"):
        ours = statistics.median(w for w, _ in results["blur 70%"])
        theirs = statistics.median(w for w, _ in results["original"])
        print(f"\nblur 70% / original design: {ours:.2f} s / {theirs:.2f} s = "
              f"{ours / theirs:.2f} (median of {a.design_rounds} alternating rounds)")
    pair = [statistics.median(s["gpu_s"] for s in gpu_s[n]) / frames
            for n in ("§9 overlay", "render_overlay call") if gpu_s.get(n)]
    if len(pair) == 2:
        print(f"\nGPU busy per frame: §9 job {pair[0] * 1e3:.1f} ms, render_overlay call "
              f"{pair[1] * 1e3:.1f} ms = {pair[1] / pair[0]:.2f}")
    print(f"\nall runs: {json.dumps({k: [round(w, 2) for w, _ in v] for k, v in results.items()})}")
    if a.throughput_jobs:
        # the worker loop itself, N jobs at once on one device (scripts/throughput.py); the
        # CPU adapter is allowed because this bench runs wherever it is started
        print("\n### Worker throughput (REELGPU_CONCURRENCY = 1, 2, 4)", flush=True)
        subprocess.run([sys.executable, str(ROOT / "scripts" / "throughput.py"),
                        "--reelgpu", str(BIN), "--jobs", str(a.throughput_jobs),
                        "--seconds", str(a.throughput_seconds), "--allow-cpu"],
                       check=True)


if __name__ == "__main__":
    main()
