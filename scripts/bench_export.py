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
  original    the original design (benches/original_design.py: Python + OpenCV per frame,
              raw frames to a temp file, then x264) on the same job as blur 70%: run in
              alternating rounds with blur 70% (--design-rounds)

For each run it samples the whole process tree (reelgpu plus its ffmpeg children) every
20 ms and keeps the peak of the summed RSS. After every run it checks that the output folder
holds only the output and that TMPDIR (a fresh folder) stayed empty.

Usage: bash scripts/bench_export.sh [--rounds N] [--seconds S] [--long-seconds L]
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
BIN = ROOT / "target" / "release" / "reelgpu"
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
        "crop 9:16": {"type": "framing", "params": {
            "crop_keyframes": [
                {"frame": 0, "x": 200, "y": 0, "width": 608, "height": 1080},
                {"frame": last, "x": 1100, "y": 0, "width": 608, "height": 1080},
            ],
            "output_width": 1080, "output_height": 1920,
            "start_frame": 0, "end_frame": last}},
    }


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
    if DESIGN_PY.exists():
        cmds["original"] = [str(DESIGN_PY), str(ROOT / "benches" / "original_design.py"),
                            str(src), str(out / "original.mp4"), str(job_files["blur 70%"])]
    return cmds


def run_once(name, cmd, env, work):
    out = work / "out"
    for f in out.iterdir():
        f.unlink()
    wall, rss, stdout = timed(cmd, env)
    left = sorted(p.name for p in out.iterdir())
    tmp_left = sorted(os.listdir(env["TMPDIR"]))
    if len(left) != 1 or tmp_left:
        sys.exit(f"{name}: files left beyond the output: {left} {tmp_left}")
    summary = (json.loads(stdout.strip().splitlines()[-1])
               if name not in ("floor", "original") else None)
    return wall, rss, summary


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=8, help="rounds of floor and no-effect")
    ap.add_argument("--effect-rounds", type=int, default=1, help="rounds of the effects")
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--long-seconds", type=int, default=60, help="0 skips the memory runs")
    ap.add_argument("--design-rounds", type=int, default=3,
                    help="rounds of blur 70%% and the original design, alternating")
    a = ap.parse_args()

    work = ROOT / "target" / "bench-export"
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
    results = {name: [] for name in cmds}
    gpu_s = {name: [] for name in cmds}
    for r in range(max(a.rounds, a.design_rounds)):
        for name, cmd in cmds.items():
            paired = name in ("blur 70%", "original")
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
    long_cmds = commands(long_src, work, write_jobs(a.long_seconds * FPS, "long"))
    for name in ["floor", "no-effect", "blur"] if a.long_seconds else []:
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
    print(f"\nall runs: {json.dumps({k: [round(w, 2) for w, _ in v] for k, v in results.items()})}")


if __name__ == "__main__":
    main()
