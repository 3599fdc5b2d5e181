"""Runs an ncnn SRVGGNetCompact model on a planar float32 RGB image with ncnn itself (CPU,
fp32 arithmetic): `python ncnn_sr.py MODEL.param IN.f32 W H OUT.f32`. The reference the
tests compare reelgpu's network against."""

import sys

import ncnn
import numpy as np

param, src, w, h, dst = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
net = ncnn.Net()
net.opt.use_vulkan_compute = False
# fp32 throughout: the weights are widened from fp16 once, as reelgpu does
net.opt.use_fp16_packed = False
net.opt.use_fp16_storage = False
net.opt.use_fp16_arithmetic = False
net.opt.use_bf16_storage = False
net.opt.num_threads = 2
assert net.load_param(param) == 0, "load_param"
assert net.load_model(param[: -len(".param")] + ".bin") == 0, "load_model"
x = np.fromfile(src, dtype=np.float32).reshape(3, h, w)
ex = net.create_extractor()
ex.input("data", ncnn.Mat(np.ascontiguousarray(x)))
ret, out = ex.extract("output")
assert ret == 0, f"extract: {ret}"
np.ascontiguousarray(np.array(out), dtype=np.float32).tofile(dst)
