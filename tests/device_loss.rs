//! A GPU that goes away mid-export (here: `Device::destroy`, the nearest a test can get to a
//! driver reset) is reported as a lost device, never a panic.

use reelgpu::color::ColorSpec;
use reelgpu::engine::{BlurQuality, FrameEngine};
use reelgpu::gpu::{GpuContext, GpuError};
use reelgpu::testing::pattern::{background_only_plan, random_frame};

#[test]
fn a_destroyed_device_is_a_lost_device_not_a_panic() {
    let ctx = GpuContext::new().expect("a GPU adapter (lavapipe in CI)");
    let frame = random_frame(33, 17, ColorSpec::BT709_LIMITED, 7);
    let mut engine = FrameEngine::new(ctx.clone(), frame.format, None, BlurQuality::Fast).unwrap();
    let plan = background_only_plan();
    let mut out = vec![0u8; frame.data.len()];
    engine.process(&frame.data, &plan, &mut out).unwrap();
    ctx.device.destroy();
    let err = engine
        .process(&frame.data, &plan, &mut out)
        .expect_err("a destroyed device cannot process frames");
    assert!(matches!(err, GpuError::DeviceLost(_)), "{err:?}");
}
