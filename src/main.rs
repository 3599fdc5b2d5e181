//! The `reelgpu` command line: `preview` renders frames through the engine into a PNG.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use reelgpu::engine::BlurQuality;
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
    Preview {
        /// Image (PNG/JPEG) or video; omitted: a generated 1280x720 test card.
        #[arg(long)]
        input: Option<PathBuf>,
        /// Job file: `{"type", "params"}` or a full contract input; omitted: every effect side by side.
        #[arg(long)]
        job: Option<PathBuf>,
        /// Frame index (drives keyframes and active regions).
        #[arg(long, conflicts_with = "time")]
        frame: Option<u64>,
        /// Time in seconds (video only): the first frame at or after it.
        #[arg(long)]
        time: Option<f64>,
        /// A grid of N frames spread across the video.
        #[arg(long, value_name = "N", conflicts_with_all = ["frame", "time"])]
        contact_sheet: Option<u32>,
        /// Background blur: fast (decimated, within 45 dB of exact) or exact.
        #[arg(long, value_enum, default_value_t = BlurQuality::Fast)]
        quality: BlurQuality,
        /// Output PNG.
        #[arg(long)]
        output: PathBuf,
    },
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
        Command::Preview {
            input,
            job,
            frame,
            time,
            contact_sheet,
            quality,
            output,
        } => {
            let req = PreviewRequest {
                input,
                job,
                frame,
                time,
                contact_sheet,
                quality,
                output,
            };
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
