//! The `reelgpu` command line: `preview` renders frames through the engine into a PNG.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use reelgpu::gpu::GpuContext;
use reelgpu::preview::{self, PreviewRequest};

#[derive(Parser)]
#[command(
    name = "reelgpu",
    version,
    about = "GPU export engine for sports highlight reels"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Render one frame (or a contact sheet of a video) through the engine into a PNG.
    Preview(PreviewRequest),
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("REELGPU_LOG")
                .unwrap_or_else(|_| "info,wgpu_core=warn,wgpu_hal=error,naga=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Preview(req) => {
            // Validate the job before paying for GPU start-up.
            if let Some(job) = &req.job {
                preview::load_job(job)?;
            }
            let ctx = GpuContext::new()?;
            let report = preview::run(&ctx, &req)?;
            println!(
                "wrote {} ({}x{}, frame{} {:?}) on {} in {:.2} s",
                req.output.display(),
                report.width,
                report.height,
                if report.frames.len() == 1 { "" } else { "s" },
                report.frames,
                report.adapter,
                report.seconds
            );
            Ok(())
        }
    }
}
