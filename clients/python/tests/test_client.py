"""The client against a running `reelgpu serve` (started by tests/calls.rs, which sets
REELGPU_URL, REELGPU_STORAGE and REELGPU_USER and has put the sources there)."""

import json
import os
import pathlib
import sys
import time
import unittest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from reelgpu_client import CallError, Endpoint, bind_arguments, encode_kwargs  # noqa: E402

URL = os.environ["REELGPU_URL"]
STORAGE = pathlib.Path(os.environ["REELGPU_STORAGE"])
USER = os.environ["REELGPU_USER"]


def region():
    kf = lambda t, x: {"time": t, "x": x, "y": 180, "radiusX": 40, "radiusY": 80,
                       "color": "#FFD400", "fromDetection": True}
    return {"id": "r1", "start_time": 0.1, "end_time": 0.9, "enabled": True, "label": "7",
            "keyframes": [kf(0.1, 200), kf(0.9, 400)]}


class ClientTest(unittest.TestCase):
    def setUp(self):
        self.ep = Endpoint("", base_url=URL, timeout=20)

    def test_remote_gen_yields_the_apps_items_in_order(self):
        items = list(self.ep.remote_gen(
            "render_overlay", job_id="py-1", user_id=USER, input_key="reels/a.mp4",
            output_key="overlays/py.mp4", highlight_regions=[region()],
            effect_type="dark_overlay", overlay_settings={"stroke_width": 3}, text_layers=[]))
        self.assertEqual(items[0], {"progress": 5, "phase": "initializing", "message": "Initializing..."})
        progress = [i["progress"] for i in items[:-1]]
        self.assertEqual(progress, sorted(progress))
        phases = [i["phase"] for i in items]
        self.assertEqual(phases[-1], "complete")
        self.assertIn("processing", phases)
        final = items[-1]
        self.assertEqual(final["status"], "success", final)
        self.assertEqual(final["output_key"], "overlays/py.mp4")
        self.assertTrue((STORAGE / USER / "overlays/py.mp4").stat().st_size > 0)

    def test_remote_returns_the_final_item(self):
        final = self.ep.remote("stitch_members", user_id=USER,
                               input_keys=["reels/a.mp4", "reels/a.mp4"], output_key="tmp/two.mp4")
        self.assertEqual(final["status"], "success", final)
        self.assertAlmostEqual(final["duration"], 2.0, delta=0.1)

    def test_a_failing_call_ends_with_an_error_item(self):
        final = self.ep.remote("render_overlay", job_id="py-2", user_id=USER,
                               input_key="reels/missing.mp4", output_key="overlays/never.mp4",
                               highlight_regions=[region()])
        self.assertEqual(final["status"], "error")
        self.assertEqual(final["phase"], "error")
        self.assertIn("kwargs.input_key", final["error"])
        bad = self.ep.remote("render_overlay", user_id=USER, input_key="reels/a.mp4",
                             output_key="x.mp4", highlight_region=[])
        self.assertIn("did you mean highlight_regions", bad["error"])
        self.assertFalse((STORAGE / USER / "overlays/never.mp4").exists())

    def test_closing_the_generator_cancels_the_job(self):
        gen = self.ep.remote_gen(
            "process_clips_ai", job_id="py-3", user_id=USER, source_keys=["reels/long.mp4"],
            output_key="final/cancelled.mp4",
            clips_data=[{"rotation": -3.2, "segment_data": {}, "keyframes": []}],
            target_width=180, target_height=320, fps=30, include_audio=True,
            transition={"type": "cut", "duration": 0})
        for item in gen:
            self.assertNotIn("status", item, item)
            if item["phase"] == "upscaling":
                break
        gen.close()
        # jobs run one at a time: the next one finishing means the cancelled one has ended
        t = time.time()
        final = self.ep.remote("stitch_members", user_id=USER, input_keys=["reels/a.mp4"],
                               output_key="tmp/after.mp4")
        self.assertEqual(final["status"], "success", final)
        self.assertLess(time.time() - t, 60)
        self.assertFalse((STORAGE / USER / "final/cancelled.mp4").exists())

    def test_the_suites_calls_through_remote_gen(self):
        """The calls tests/calls.rs runs everywhere (a render_overlay with a full-frame text
        layer, a three-clip process_clips_ai): their items go back to it to be checked."""
        calls = json.loads(pathlib.Path(os.environ["REELGPU_CALLS"]).read_text())
        seen = {}
        for function, kwargs in calls.items():
            items = list(self.ep.remote_gen(function, **kwargs))
            self.assertEqual(items[-1]["status"], "success", items[-1])
            seen[function] = items
        pathlib.Path(os.environ["REELGPU_ITEMS_OUT"]).write_text(json.dumps(seen))

    def test_handles_take_the_apps_positional_arguments(self):
        stitch = self.ep.function("stitch_members")
        final = stitch.remote(USER, ["reels/a.mp4"], "tmp/positional.mp4")
        self.assertEqual(final["status"], "success", final)
        self.assertTrue((STORAGE / USER / "tmp/positional.mp4").exists())
        self.assertEqual(bind_arguments("detect_players_modal", (USER, "k.mp4", 3), {"confidence_threshold": 0.4}),
                         {"user_id": USER, "input_key": "k.mp4", "frame_number": 3, "confidence_threshold": 0.4})
        with self.assertRaises(TypeError):
            bind_arguments("stitch_members", (USER,), {"user_id": USER})
        with self.assertRaises(TypeError):
            bind_arguments("stitch_members", (1, 2, 3, 4), {})

    def test_detection_through_handles(self):
        """The detection calls (REELGPU_DETECT_MODEL set by the server's environment): the
        app's dicts back, errors returned, not raised."""
        single = self.ep.function("detect_players_modal")
        final = single.remote(USER, "reels/a.mp4", 3, 0.25)
        self.assertEqual(final["status"], "success", final)
        self.assertEqual(final["frame_number"], 3)
        self.assertEqual((final["video_width"], final["video_height"]), (640, 360))
        self.assertIsInstance(final["detections"], list)
        batch = self.ep.function("detect_players_batch_modal")
        final = batch.remote(USER, "reels/a.mp4", [0.0, 0.5])
        self.assertEqual(final["status"], "success", final)
        self.assertEqual([d["frame_number"] for d in final["detections"]], [0, 15])
        err = single.remote(USER, "reels/a.mp4", 999)
        self.assertEqual(err["status"], "error")
        self.assertEqual(err["error"], "Frame 999 out of range (0-29)")

    def test_compose_through_its_handle(self):
        """compose_serve_time_modal takes the app's six positional arguments; without a card
        or an outro the result is the reel; a failure raises, as the app's function does."""
        compose = self.ep.function("compose_serve_time_modal")
        final = compose.remote(USER, "reels/a.mp4", None, [], False, "tmp/composed.mp4")
        self.assertEqual(final["status"], "success", final)
        self.assertEqual((final["out_key"], final["full_fidelity"], final["degraded_reason"]),
                         ("tmp/composed.mp4", True, None))
        self.assertTrue((STORAGE / USER / "tmp/composed.mp4").exists())
        with self.assertRaises(CallError) as e:
            compose.remote(USER, "reels/missing.mp4", None, [], False, "tmp/none.mp4")
        self.assertIn("kwargs.reel_key", str(e.exception))
        self.assertFalse((STORAGE / USER / "tmp/none.mp4").exists())

    def test_bytes_are_sent_as_base64(self):
        self.assertEqual(encode_kwargs({"png": b"\x89PNG", "t": (1, 2)}), {"png": "iVBORw==", "t": [1, 2]})


if __name__ == "__main__":
    unittest.main()
