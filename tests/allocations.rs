//! The per-frame planning path allocates nothing once warm: a counting global allocator
//! around `OverlayTimeline::plan_into` for §5 and §9 jobs (the engine's own per-frame code
//! writes uniforms from stack arrays; wgpu's internals are outside this check).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use reelgpu::job::timeline::{FrameAt, FramePlan};
use reelgpu::job::{JobParams, JobSpec, Limits, OverlayTimeline};
use serde_json::json;

struct Counting;

thread_local! {
    static COUNT: Cell<u64> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = COUNT.try_with(|c| c.set(c.get() + 1));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = COUNT.try_with(|c| c.set(c.get() + 1));
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations(f: impl FnOnce()) -> u64 {
    let before = COUNT.with(Cell::get);
    f();
    COUNT.with(Cell::get) - before
}

#[test]
fn planning_a_frame_allocates_nothing() {
    let v1 = json!({"type": "overlay", "params": {"effect_type": "blur",
        "highlight_regions": [{"start_frame": 0, "end_frame": 1000, "x": 100, "y": 100, "radius_x": 30, "radius_y": 60}],
        "crop_keyframes": [{"frame": 0, "x": 0, "y": 0, "width": 100, "height": 180}, {"frame": 100, "x": 200, "y": 0, "width": 100, "height": 180}],
        "output_width": 90, "output_height": 160}});
    let kf = |t: f64, x: f64| json!({"time": t, "x": x, "y": 90, "radiusX": 20, "radiusY": 40, "color": "#FF0000"});
    let v2 = json!({"type": "overlay", "params": {"effect_type": "blur",
        "overlay_settings": {"highlight_shape": "ground", "fill_enabled": true},
        "highlight_regions": [
            {"start_time": 0.0, "end_time": 10.0, "keyframes": [kf(0.0, 50.0), kf(2.0, 150.0), kf(4.0, 250.0), kf(10.0, 300.0)]},
            {"start_time": 1.0, "end_time": 9.0, "keyframes": [kf(1.0, 80.0), kf(9.0, 280.0)]}],
        "text_layers": [{"startTime": 0.0, "endTime": 10.0, "image_key": "a.png"}, {"startTime": 2.0, "endTime": 8.0, "image_key": "b.png"}]}});
    for job in [v1, v2] {
        let spec = JobSpec::from_json(&job, &Limits::default()).unwrap();
        let timeline = match &spec.params {
            JobParams::Overlay(p) => OverlayTimeline::new(p),
            JobParams::OverlayV2(p) => OverlayTimeline::v2(p),
            _ => unreachable!(),
        };
        let mut plan = FramePlan::default();
        // warm: the plan's vectors grow to their largest once
        for i in 0..250 {
            timeline.plan_into(FrameAt::new(i, i as f64 / 25.0), 320, 180, &mut plan);
        }
        let n = allocations(|| {
            for i in 0..250 {
                timeline.plan_into(FrameAt::new(i, i as f64 / 25.0), 320, 180, &mut plan);
                assert!(!plan.is_identity());
            }
        });
        assert_eq!(n, 0, "{job}: {n} allocations in 250 frames");
    }
}
