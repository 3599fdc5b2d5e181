//! Shared test setup: one GPU context per test binary (lavapipe in CI; never skipped).
#![allow(dead_code)]

use std::sync::{Arc, OnceLock};

use reelgpu::gpu::GpuContext;

/// The test process's GPU context. Panics (fails the test) when there is no adapter: a GPU
/// test that cannot run is a failing test, not a skipped one.
pub fn gpu() -> Arc<GpuContext> {
    static CTX: OnceLock<Arc<GpuContext>> = OnceLock::new();
    CTX.get_or_init(|| {
        let _ = tracing_subscriber::fmt().with_test_writer().try_init();
        match GpuContext::new() {
            Ok(ctx) => {
                eprintln!("GPU tests run on {}", ctx.adapter);
                ctx
            }
            Err(e) => panic!("no GPU adapter for the GPU tests: {e}"),
        }
    })
    .clone()
}
pub mod cli;
pub mod servers;
