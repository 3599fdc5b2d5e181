#!/usr/bin/env python3
"""The original design of the blur overlay export, as the seed did it: OpenCV decodes every
frame; each frame is blurred (GaussianBlur 51x51, sigma 8), a mask of the active ellipses is
drawn and feathered (GaussianBlur 21x21, sigma 3.5), the two are blended; the raw frames go
to a temporary file, which ffmpeg then encodes with libx264 (veryfast, crf 23) and the
source's audio. The benchmark's baseline row (scripts/bench_export.py); not part of reelgpu.

Usage: original_design.py SRC OUT JOB.json   (JOB: an overlay job with frame-based regions)
"""

import json
import os
import subprocess
import sys
import tempfile

import cv2
import numpy as np

FFMPEG = os.environ.get("REELGPU_FFMPEG", "ffmpeg")


def main():
    src, out, job_path = sys.argv[1:4]
    regions = json.load(open(job_path))["params"]["highlight_regions"]
    cap = cv2.VideoCapture(src)
    if not cap.isOpened():
        sys.exit(f"cannot open {src}")
    fps = cap.get(cv2.CAP_PROP_FPS)
    w = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))
    h = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    raw = tempfile.NamedTemporaryFile(suffix=".bgr", delete=False)
    try:
        index = 0
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            active = [r for r in regions if r["start_frame"] <= index <= r["end_frame"]]
            if active:
                background = cv2.GaussianBlur(frame, (51, 51), 8.0)
                mask = np.zeros((h, w), np.float32)
                for r in active:
                    cv2.ellipse(mask, (int(r["x"]), int(r["y"])),
                                (int(r["radius_x"]), int(r["radius_y"])),
                                0, 0, 360, float(r.get("opacity", 1.0)), -1)
                mask = cv2.GaussianBlur(mask, (21, 21), 3.5)[:, :, None]
                frame = (frame * mask + background * (1.0 - mask)).astype(np.uint8)
            raw.write(frame.tobytes())
            index += 1
        raw.close()
        cap.release()
        subprocess.run(
            [FFMPEG, "-v", "error", "-nostdin", "-y",
             "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{w}x{h}", "-r", f"{fps}",
             "-i", raw.name, "-i", src, "-map", "0:v:0", "-map", "1:a:0?",
             "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p",
             "-c:a", "aac", "-b:a", "128k", "-movflags", "+faststart", out],
            check=True,
        )
    finally:
        os.unlink(raw.name)
    print(json.dumps({"frames": index}))


if __name__ == "__main__":
    main()
