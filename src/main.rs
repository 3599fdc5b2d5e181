//! The `reelgpu` command line: `preview` renders frames through the engine into a PNG;
//! `export` streams a video through ffmpeg → GPU → ffmpeg.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Parser, Subcommand};
use reelgpu::export::{self, DecoderChoice, ExportRequest};
use reelgpu::gpu::GpuContext;
use reelgpu::job::Limits;
use reelgpu::preview::{self, PreviewRequest};
use reelgpu::testing::clips;
use reelgpu::video::EncoderKind;

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
    /// Export a video: decode, run the job's effects on the GPU, encode H.264 + AAC to MP4.
    Export(ExportArgs),
}

#[derive(Debug, clap::Args)]
struct ExportArgs {
    /// Job file: `{"type", "params"}` or a full contract input object.
    #[arg(long)]
    job: PathBuf,
    /// Source video; omitted: a generated 1280x720 30 fps clip with audio (written next to
    /// the output as `<output>.source.mp4`).
    #[arg(long)]
    input: Option<PathBuf>,
    /// Output MP4 (written to a temporary name beside it, renamed on success).
    #[arg(long)]
    output: PathBuf,
    /// Largest source or output width/height.
    #[arg(long, default_value_t = 4096, env = "REELGPU_MAX_DIMENSION")]
    max_dimension: u32,
    /// Decoder: NVDEC when a trial decode works (auto), or always software.
    #[arg(long, value_enum, default_value_t = DecoderChoice::Auto)]
    decoder: DecoderChoice,
    /// Print the summary as one JSON object.
    #[arg(long)]
    json: bool,
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
        Command::Export(args) => run_export(args),
    }
}

fn run_export(args: ExportArgs) -> anyhow::Result<()> {
    let limits = Limits {
        max_dimension: args.max_dimension,
        ..Limits::default()
    };
    let job = export::load_job(&args.job, &limits)?;
    let input = match args.input {
        Some(p) => p,
        None => {
            let mut name = args.output.clone().into_os_string();
            name.push(".source.mp4");
            let path = PathBuf::from(name);
            if !path.exists() {
                eprintln!("no --input: generating a test clip at {}", path.display());
                clips::try_generate(&path, &clips::testsrc_args(1280, 720, 30, 5.0, true))
                    .map_err(anyhow::Error::msg)
                    .context("generating the test clip")?;
            }
            path
        }
    };
    let req = ExportRequest {
        input,
        job,
        output: args.output,
        limits,
        decoder: args.decoder,
    };
    // Everything that can be checked without the GPU is checked first.
    let prepared = export::prepare(&req)?;
    let ctx = GpuContext::new()?;
    let encoder = EncoderKind::detect();
    let mut report = progress_reporter(prepared.total_frames);
    let summary = export::run(&ctx, &req, &prepared, encoder, &mut report)?;
    drop(report);
    if args.json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        println!(
            "wrote {} ({} {}x{}, {} frames, {:.2} s) in {:.2} s = {:.1} fps; decoder {}, encoder {}, adapter {}; busy: decode {:.2} s, GPU {:.2} s ({} frames), encode {:.2} s",
            summary.output.display(),
            summary.kind,
            summary.width,
            summary.height,
            summary.frames,
            summary.duration_s,
            summary.wall_s,
            summary.fps,
            summary.decoder,
            summary.encoder,
            summary.adapter,
            summary.decode_s,
            summary.gpu_s,
            summary.gpu_frames,
            summary.encode_s
        );
    }
    Ok(())
}

/// A progress bar on a terminal; otherwise one JSON line per second on stderr.
fn progress_reporter(total: u64) -> Box<dyn FnMut(u64, u64)> {
    let started = Instant::now();
    if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(total);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {pos}/{len} frames  {per_sec}  ETA {eta}",
            )
            .expect("progress template"),
        );
        Box::new(move |done, _| {
            bar.set_position(done);
            if done >= total {
                bar.finish();
            }
        })
    } else {
        let mut last = Instant::now();
        Box::new(move |done, total| {
            if last.elapsed() >= Duration::from_secs(1) || done == total {
                last = Instant::now();
                let secs = started.elapsed().as_secs_f64();
                let fps = done as f64 / secs.max(1e-9);
                let eta = total.saturating_sub(done) as f64 / fps.max(1e-9);
                eprintln!(
                    "{}",
                    serde_json::json!({
                        "progress": (100 * done / total.max(1)),
                        "frames": done,
                        "total": total,
                        "fps": (fps * 10.0).round() / 10.0,
                        "eta_s": eta.round(),
                    })
                );
            }
        })
    }
}
