"""Reference tools for the player detector's tests (run in .venv-test).

  onnx MODEL IN.f32 W H OUT.f32      onnxruntime's raw output for planar RGB floats, anchor-major
  letterbox IN.rgb W H OUT.rgb       ultralytics' letterbox with OpenCV (planar RGB bytes out);
                                     prints the padded width and height
  detect MODEL IN.rgb W H CONF OUT   the whole pipeline as ultralytics runs a .pt: OpenCV's
                                     letterbox, onnxruntime, NMS per class (IoU 0.7, 300), boxes
                                     in frame pixels, clipped (JSON: [[x1, y1, x2, y2, conf, cls]])
  nms RAW.f32 NC W0 H0 W1 H1 CONF OUT  the same NMS and mapping on a raw output (anchor-major)
                                     of a W1 x H1 letterbox of a W0 x H0 frame
  checkpoint SCALE NC SEED DIR       random YOLOv8 weights of a scale (n/s/m/l/x, or t: tiny) as an
                                     ultralytics-style .pt (a torch zip whose pickle holds the
                                     module tree, fp16, batch norms unfused) and the same tensors
                                     as a .safetensors state dict
  people W H OUT.rgb                 a frame of people (scikit-image's photos) of any size

Files of bytes are interleaved RGB unless said otherwise.
"""

import collections
import io
import json
import math
import pickle
import struct
import sys
import types
import zipfile

import numpy as np


def letterbox(img, imgsz=640, stride=32):
    import cv2

    h, w = img.shape[:2]
    r = min(imgsz / h, imgsz / w)
    new_unpad = (int(round(w * r)), int(round(h * r)))
    dw, dh = imgsz - new_unpad[0], imgsz - new_unpad[1]
    dw, dh = np.mod(dw, stride), np.mod(dh, stride)
    dw /= 2
    dh /= 2
    if (w, h) != new_unpad:
        img = cv2.resize(img, new_unpad, interpolation=cv2.INTER_LINEAR)
    top, bottom = int(round(dh - 0.1)), int(round(dh + 0.1))
    left, right = int(round(dw - 0.1)), int(round(dw + 0.1))
    return cv2.copyMakeBorder(img, top, bottom, left, right, cv2.BORDER_CONSTANT, value=(114, 114, 114))


def read_rgb(path, w, h):
    return np.fromfile(path, dtype=np.uint8).reshape(h, w, 3)


def onnx_raw(model, planar, w, h):
    import onnxruntime as ort

    s = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    name = s.get_inputs()[0].name
    out = s.run(None, {name: planar.reshape(1, 3, h, w).astype(np.float32)})[0][0]
    return out.T.copy()  # anchors x (4 + nc)


def nms(raw, conf, iou=0.7, max_det=300):
    scores = raw[:, 4:]
    cls = scores.argmax(1)
    best = scores[np.arange(len(raw)), cls]
    keep = np.nonzero(best > conf)[0]
    keep = keep[np.argsort(-best[keep], kind="stable")][:30000]
    boxes = np.stack(
        [raw[:, 0] - raw[:, 2] / 2, raw[:, 1] - raw[:, 3] / 2, raw[:, 0] + raw[:, 2] / 2, raw[:, 1] + raw[:, 3] / 2], 1
    )
    kept = []
    for i in keep:
        ok = True
        for k in kept:
            if cls[k] != cls[i]:
                continue
            a, b = boxes[i], boxes[k]
            iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
            ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
            inter = iw * ih
            u = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
            if inter / u > iou:
                ok = False
                break
        if ok:
            kept.append(i)
            if len(kept) == max_det:
                break
    return [(boxes[i], float(best[i]), int(cls[i])) for i in kept]


def detect(model, img, conf):
    h0, w0 = img.shape[:2]
    lb = letterbox(img)
    h1, w1 = lb.shape[:2]
    planar = lb.transpose(2, 0, 1).astype(np.float32) / 255.0
    raw = onnx_raw(model, planar, w1, h1)
    return boxes_in_frame(raw, conf, w0, h0, w1, h1)


def boxes_in_frame(raw, conf, w0, h0, w1, h1):
    gain = min(h1 / h0, w1 / w0)
    px = round((w1 - w0 * gain) / 2 - 0.1)
    py = round((h1 - h0 * gain) / 2 - 0.1)
    out = []
    for b, c, k in nms(raw, conf):
        x1 = min(max((b[0] - px) / gain, 0), w0)
        x2 = min(max((b[2] - px) / gain, 0), w0)
        y1 = min(max((b[1] - py) / gain, 0), h0)
        y2 = min(max((b[3] - py) / gain, 0), h0)
        out.append([float(x1), float(y1), float(x2), float(y2), c, k])
    return out


# --- random checkpoints --------------------------------------------------------------------

SCALES = {"t": (0.33, 0.03, 1024), "n": (0.33, 0.25, 1024), "s": (0.33, 0.50, 1024), "m": (0.67, 0.75, 768), "l": (1.0, 1.0, 512), "x": (1.0, 1.25, 512)}


def _module(name):
    # a stand-in module (and its parents) for pickle to name classes by: nothing is imported
    parts = name.split(".")
    for k in range(1, len(parts) + 1):
        sub = ".".join(parts[:k])
        if sub not in sys.modules:
            sys.modules[sub] = types.ModuleType(sub)
            if k > 1:
                setattr(sys.modules[".".join(parts[: k - 1])], parts[k - 1], sys.modules[sub])
    return sys.modules[name]


def _cls(module, name):
    m = _module(module)
    if not hasattr(m, name):
        setattr(m, name, type(name, (), {"__module__": module}))
    return getattr(m, name)


class Storage:
    def __init__(self, key, data, kind):
        self.key, self.data, self.kind = key, data, kind


def _rebuild_tensor_v2(*a):
    raise RuntimeError("never called")


def _rebuild_parameter(*a):
    raise RuntimeError("never called")


_rebuild_tensor_v2.__module__ = "torch._utils"
_rebuild_parameter.__module__ = "torch._utils"
_module("torch._utils")._rebuild_tensor_v2 = _rebuild_tensor_v2
_module("torch._utils")._rebuild_parameter = _rebuild_parameter


class Tensor:
    def __init__(self, storage, shape):
        self.storage, self.shape = storage, shape

    def __reduce__(self):
        stride = []
        acc = 1
        for s in reversed(self.shape):
            stride.insert(0, acc)
            acc *= s
        t = (_rebuild_tensor_v2, (self.storage, 0, tuple(self.shape), tuple(stride), False, collections.OrderedDict()))
        return t


class Param:
    def __init__(self, t):
        self.t = t

    def __reduce__(self):
        return (_rebuild_parameter, (self.t, True, collections.OrderedDict()))


class Writer(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            return ("storage", _cls("torch", obj.kind), obj.key, "cpu", obj.data.size)
        return None


# YOLOv8's layers 0-21 (yolov8.yaml): (kind, channels before the width multiple, stride or
# repeats, shortcut) or the layer a concatenation takes
SPEC = [
    ("conv", 64, 2), ("conv", 128, 2), ("c2f", 128, 3, True), ("conv", 256, 2), ("c2f", 256, 6, True),
    ("conv", 512, 2), ("c2f", 512, 6, True), ("conv", 1024, 2), ("c2f", 1024, 3, True), ("sppf", 1024),
    ("up",), ("cat", 6), ("c2f", 512, 3, False), ("up",), ("cat", 4), ("c2f", 256, 3, False),
    ("conv", 256, 2), ("cat", 12), ("c2f", 512, 3, False), ("conv", 512, 2), ("cat", 9), ("c2f", 1024, 3, False),
]


def checkpoint(scale, nc, seed, out_dir):
    depth, width, max_ch = SCALES[scale]
    rng = np.random.default_rng(seed)
    tensors = {}  # state-dict name -> fp16 array
    storages = []

    def ch(c):
        return int(math.ceil(min(c, max_ch) * width / 8) * 8)

    def reps(n):
        return max(round(n * depth), 1) if n > 1 else n

    def new_module(module, cls, attrs=None):
        obj = _cls(module, cls).__new__(_cls(module, cls))
        obj.__dict__.update(
            {"training": False, "_parameters": collections.OrderedDict(), "_buffers": collections.OrderedDict(), "_modules": collections.OrderedDict()}
        )
        obj.__dict__.update(attrs or {})
        return obj

    def tensor(path, arr, param=True):
        arr = arr.astype(np.float16)
        tensors[path] = arr
        st = Storage(str(len(storages)), arr, "HalfStorage")
        storages.append(st)
        t = Tensor(st, list(arr.shape))
        return Param(t) if param else t

    def conv2d(path, cin, cout, k, s, bias=False):
        m = new_module("torch.nn.modules.conv", "Conv2d", {"stride": (s, s), "padding": (k // 2, k // 2), "kernel_size": (k, k), "in_channels": cin, "out_channels": cout})
        m._parameters["weight"] = tensor(path + ".weight", rng.normal(0, 1 / math.sqrt(cin * k * k), (cout, cin, k, k)))
        m._parameters["bias"] = tensor(path + ".bias", rng.normal(0, 0.5, cout)) if bias else None
        return m

    def conv(path, cin, cout, k=1, s=1):
        m = new_module("ultralytics.nn.modules.conv", "Conv")
        m._modules["conv"] = conv2d(path + ".conv", cin, cout, k, s)
        bn = new_module("torch.nn.modules.batchnorm", "BatchNorm2d", {"eps": 0.001, "momentum": 0.03, "num_features": cout})
        bn._parameters["weight"] = tensor(path + ".bn.weight", rng.uniform(0.5, 1.5, cout))
        bn._parameters["bias"] = tensor(path + ".bn.bias", rng.normal(0, 0.2, cout))
        bn._buffers["running_mean"] = tensor(path + ".bn.running_mean", rng.normal(0, 0.2, cout), False)
        bn._buffers["running_var"] = tensor(path + ".bn.running_var", rng.uniform(0.5, 2.0, cout), False)
        m._modules["bn"] = bn
        m._modules["act"] = new_module("torch.nn.modules.activation", "SiLU", {"inplace": True})
        return m, cout

    def c2f(path, cin, cout, n, shortcut):
        c = int(cout * 0.5)
        m = new_module("ultralytics.nn.modules.block", "C2f", {"c": c})
        m._modules["cv1"], _ = conv(path + ".cv1", cin, 2 * c)
        m._modules["cv2"], _ = conv(path + ".cv2", (2 + n) * c, cout)
        ml = new_module("torch.nn.modules.container", "ModuleList")
        for k in range(n):
            b = new_module("ultralytics.nn.modules.block", "Bottleneck", {"add": shortcut})
            b._modules["cv1"], _ = conv(f"{path}.m.{k}.cv1", c, c, 3)
            b._modules["cv2"], _ = conv(f"{path}.m.{k}.cv2", c, c, 3)
            ml._modules[str(k)] = b
        m._modules["m"] = ml
        return m, cout

    layers, out = [], []
    cin = 3
    for i, s in enumerate(SPEC):
        p = f"model.{i}"
        if s[0] == "conv":
            m, c = conv(p, cin, ch(s[1]), 3, s[2])
        elif s[0] == "c2f":
            m, c = c2f(p, cin, ch(s[1]), reps(s[2]), s[3])
        elif s[0] == "sppf":
            c_ = cin // 2
            m = new_module("ultralytics.nn.modules.block", "SPPF")
            m._modules["cv1"], _ = conv(p + ".cv1", cin, c_)
            m._modules["cv2"], c = conv(p + ".cv2", 4 * c_, ch(s[1]))
            m._modules["m"] = new_module("torch.nn.modules.pooling", "MaxPool2d", {"kernel_size": 5, "stride": 1, "padding": 2})
        elif s[0] == "up":
            m, c = new_module("torch.nn.modules.upsampling", "Upsample", {"scale_factor": 2.0, "mode": "nearest"}), cin
        else:
            m, c = new_module("ultralytics.nn.modules.conv", "Concat", {"d": 1}), cin + out[s[1]]
        m.__dict__.update({"i": i, "f": -1, "type": type(m).__module__ + "." + type(m).__name__})
        layers.append(m)
        out.append(c)
        cin = c
    chs = (out[15], out[18], out[21])
    c2, c3 = max(16, chs[0] // 4, 64), max(chs[0], min(nc, 100))
    det = new_module("ultralytics.nn.modules.head", "Detect", {"nc": nc, "nl": 3, "reg_max": 16, "no": nc + 64, "end2end": False})
    det.__dict__["stride"] = tensor("__stride__", np.array([8.0, 16.0, 32.0]), False)
    del tensors["__stride__"]
    for name, co, last in (("cv2", c2, 64), ("cv3", c3, nc)):
        ml = new_module("torch.nn.modules.container", "ModuleList")
        for l, x in enumerate(chs):
            seq = new_module("torch.nn.modules.container", "Sequential")
            p = f"model.22.{name}.{l}"
            seq._modules["0"], _ = conv(p + ".0", x, co, 3)
            seq._modules["1"], _ = conv(p + ".1", co, co, 3)
            seq._modules["2"] = conv2d(p + ".2", co, last, 1, 1, bias=True)
            ml._modules[str(l)] = seq
        det._modules[name] = ml
    dfl = new_module("ultralytics.nn.modules.block", "DFL", {"c1": 16})
    dfl._modules["conv"] = conv2d("model.22.dfl.conv", 16, 1, 1, 1)
    dfl._modules["conv"]._parameters["weight"] = tensor("model.22.dfl.conv.weight", np.arange(16, dtype=np.float32).reshape(1, 16, 1, 1))
    det._modules["dfl"] = dfl
    layers.append(det)
    seq = new_module("torch.nn.modules.container", "Sequential")
    for i, m in enumerate(layers):
        seq._modules[str(i)] = m
    model = new_module("ultralytics.nn.tasks", "DetectionModel", {"names": {i: f"c{i}" for i in range(nc)}, "yaml": {"nc": nc}})
    model._modules["model"] = seq
    root = {"date": "2026-12-07", "version": "8.3.0", "model": model, "ema": None, "updates": None}
    buf = io.BytesIO()
    Writer(buf, protocol=2).dump(root)
    name = f"yolov8{scale}-random"
    with zipfile.ZipFile(f"{out_dir}/{name}.pt", "w", zipfile.ZIP_STORED) as z:
        z.writestr(f"{name}/data.pkl", buf.getvalue())
        z.writestr(f"{name}/byteorder", "little")
        for st in storages:
            z.writestr(f"{name}/data/{st.key}", st.data.tobytes())
        z.writestr(f"{name}/version", "3\n")
    # the same tensors as a safetensors state dict
    header, blobs, at = {}, [], 0
    for k in sorted(tensors):
        b = tensors[k].tobytes()
        header[k] = {"dtype": "F16", "shape": list(tensors[k].shape), "data_offsets": [at, at + len(b)]}
        blobs.append(b)
        at += len(b)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(f"{out_dir}/{name}.safetensors", "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
    print(name)
    return tensors


def export_onnx(tensors, w, h, path):
    """The state dict `tensors` (a checkpoint's, fp16) as an ONNX graph for a fixed w x h
    input, built as ultralytics' export is (batch norms folded in float64 then float32, SiLU as
    x * sigmoid(x), C2f by Split/Concat, SPPF by three MaxPools, nearest x2 Resize, the head's
    DFL softmax and anchor decoding): output [1, 4 + nc, anchors], boxes as cx, cy, w, h in
    input pixels, then sigmoid scores. Needs the `onnx` package."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes, inits = [], []
    count = [0]

    def fresh(stem):
        count[0] += 1
        return f"{stem}_{count[0]}"

    def const(arr, stem="c"):
        n = fresh(stem)
        inits.append(numpy_helper.from_array(np.asarray(arr), n))
        return n

    def node(op, inputs, **attrs):
        out = fresh(op.lower())
        nodes.append(helper.make_node(op, inputs, [out], **attrs))
        return out

    def f(name):
        return tensors[name].astype(np.float64)

    def conv2d(x, w, b, k, s):
        return node("Conv", [x, const(w.astype(np.float32)), const(b.astype(np.float32))], kernel_shape=[k, k], strides=[s, s], pads=[k // 2] * 4)

    def conv(x, p, s=1):
        w = f(p + ".conv.weight")
        k = w.shape[2]
        scale = f(p + ".bn.weight") / np.sqrt(f(p + ".bn.running_var") + 1e-3)
        b = f(p + ".bn.bias") - f(p + ".bn.running_mean") * scale
        y = conv2d(x, w * scale[:, None, None, None], b, k, s)
        return node("Mul", [y, node("Sigmoid", [y])])

    def c2f(x, p, shortcut):
        y = conv(x, p + ".cv1")
        c = tensors[p + ".cv1.conv.weight"].shape[0] // 2
        a = fresh("split")
        b = fresh("split")
        nodes.append(helper.make_node("Split", [y, const(np.array([c, c], dtype=np.int64))], [a, b], axis=1))
        outs = [a, b]
        n = 0
        while f"{p}.m.{n}.cv1.conv.weight" in tensors:
            t = conv(conv(outs[-1], f"{p}.m.{n}.cv1"), f"{p}.m.{n}.cv2")
            outs.append(node("Add", [outs[-1], t]) if shortcut else t)
            n += 1
        return conv(node("Concat", outs, axis=1), p + ".cv2")

    x = "images"
    out = []
    for i, s in enumerate(SPEC):
        p = f"model.{i}"
        if s[0] == "conv":
            x = conv(x, p, s[2])
        elif s[0] == "c2f":
            x = c2f(x, p, s[3])
        elif s[0] == "sppf":
            y = [conv(x, p + ".cv1")]
            for _ in range(3):
                y.append(node("MaxPool", [y[-1]], kernel_shape=[5, 5], strides=[1, 1], pads=[2, 2, 2, 2]))
            x = conv(node("Concat", y, axis=1), p + ".cv2")
        elif s[0] == "up":
            x = node("Resize", [x, "", const(np.array([1, 1, 2, 2], dtype=np.float32))], mode="nearest")
        else:
            x = node("Concat", [x, out[s[1]]], axis=1)
        out.append(x)
    nc = tensors["model.22.cv3.0.2.weight"].shape[0]
    levels, anchors, strides = [], [], []
    for l, (src, stride) in enumerate(((15, 8), (18, 16), (21, 32))):
        branches = []
        for name in ("cv2", "cv3"):
            p = f"model.22.{name}.{l}"
            y = conv(conv(out[src], p + ".0"), p + ".1")
            branches.append(conv2d(y, f(p + ".2.weight"), f(p + ".2.bias"), 1, 1))
        cat = node("Concat", branches, axis=1)
        levels.append(node("Reshape", [cat, const(np.array([1, 64 + nc, -1], dtype=np.int64))]))
        gw, gh = w // stride, h // stride
        ys, xs = np.meshgrid(np.arange(gh) + 0.5, np.arange(gw) + 0.5, indexing="ij")
        anchors.append(np.stack([xs.ravel(), ys.ravel()]))
        strides.append(np.full(gw * gh, float(stride)))
    allv = node("Concat", levels, axis=2)
    box, cls = fresh("box"), fresh("cls")
    nodes.append(helper.make_node("Split", [allv, const(np.array([64, nc], dtype=np.int64))], [box, cls], axis=1))
    a = box
    a = node("Reshape", [a, const(np.array([1, 4, 16, -1], dtype=np.int64))])
    a = node("Transpose", [a], perm=[0, 2, 1, 3])
    a = node("Softmax", [a], axis=1)
    dfl = np.arange(16, dtype=np.float32).reshape(1, 16, 1, 1)
    a = node("Conv", [a, const(dfl)], kernel_shape=[1, 1])
    d = node("Reshape", [a, const(np.array([1, 4, -1], dtype=np.int64))])
    lt, rb = fresh("lt"), fresh("rb")
    nodes.append(helper.make_node("Split", [d, const(np.array([2, 2], dtype=np.int64))], [lt, rb], axis=1))
    anc = const(np.concatenate(anchors, axis=1)[None].astype(np.float32), "anchors")
    x1y1 = node("Sub", [anc, lt])
    x2y2 = node("Add", [anc, rb])
    cxy = node("Div", [node("Add", [x1y1, x2y2]), const(np.array(2.0, dtype=np.float32))])
    wh = node("Sub", [x2y2, x1y1])
    st = const(np.concatenate(strides)[None, None].astype(np.float32), "strides")
    boxes = node("Mul", [node("Concat", [cxy, wh], axis=1), st])
    res = node("Concat", [boxes, node("Sigmoid", [cls])], axis=1)
    nodes.append(helper.make_node("Identity", [res], ["output0"]))
    graph = helper.make_graph(
        nodes,
        "yolov8",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, h, w])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, [1, 4 + nc, sum(len(v) for v in strides)])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)


def people(w, h):
    import cv2
    from skimage import data

    canvas = np.full((h, w, 3), (60, 140, 70), np.uint8)  # a pitch
    photos = [data.astronaut(), cv2.cvtColor(data.camera(), cv2.COLOR_GRAY2RGB)]
    n = len(photos)
    for i, p in enumerate(photos):
        # side by side on a landscape frame, stacked on a portrait one
        if w >= h:
            cw, ch = w // n, h
            x0, y0 = i * cw, 0
        else:
            cw, ch = w, h // n
            x0, y0 = 0, i * ch
        s = min(cw / p.shape[1], ch / p.shape[0])
        r = cv2.resize(p, (max(1, int(p.shape[1] * s)), max(1, int(p.shape[0] * s))), interpolation=cv2.INTER_AREA)
        ox, oy = x0 + (cw - r.shape[1]) // 2, y0 + (ch - r.shape[0]) // 2
        canvas[oy : oy + r.shape[0], ox : ox + r.shape[1]] = r
    return canvas


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "onnx":
        model, src, w, h, dst = args[0], args[1], int(args[2]), int(args[3]), args[4]
        planar = np.fromfile(src, dtype=np.float32)
        onnx_raw(model, planar, w, h).astype(np.float32).tofile(dst)
    elif cmd == "letterbox":
        src, w, h, dst = args[0], int(args[1]), int(args[2]), args[3]
        lb = letterbox(read_rgb(src, w, h))
        lb.transpose(2, 0, 1).copy().tofile(dst)
        print(lb.shape[1], lb.shape[0])
    elif cmd == "detect":
        model, src, w, h, conf, dst = args[0], args[1], int(args[2]), int(args[3]), float(args[4]), args[5]
        with open(dst, "w") as f:
            json.dump(detect(model, read_rgb(src, w, h), conf), f)
    elif cmd == "nms":
        src, nc, w0, h0, w1, h1, conf, dst = args[0], int(args[1]), int(args[2]), int(args[3]), int(args[4]), int(args[5]), float(args[6]), args[7]
        raw = np.fromfile(src, dtype=np.float32).reshape(-1, 4 + nc)
        with open(dst, "w") as f:
            json.dump(boxes_in_frame(raw, conf, w0, h0, w1, h1), f)
    elif cmd == "checkpoint":
        # SCALE NC SEED DIR [WxH ...]: the checkpoint, and its ONNX export for each size
        tensors = checkpoint(args[0], int(args[1]), int(args[2]), args[3])
        for size in args[4:]:
            w, h = (int(v) for v in size.split("x"))
            export_onnx(tensors, w, h, f"{args[3]}/yolov8{args[0]}-random-{w}x{h}.onnx")
    elif cmd == "people":
        people(int(args[0]), int(args[1])).tofile(args[2])
    else:
        raise SystemExit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
