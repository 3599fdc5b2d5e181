//! The `reelgpu` command line: `preview` renders frames through the engine into a PNG;
//! `export` streams a video through ffmpeg → GPU → ffmpeg; `worker` is the RunPod serverless
//! worker (or runs one test job); `serve` is the worker behind a local HTTP API.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Parser, Subcommand};
use reelgpu::export::{self, DecoderChoice, ExportRequest};
use reelgpu::gpu::{GpuContext, GpuStartup};
use reelgpu::job::Limits;
use reelgpu::preview::{self, PreviewRequest};
use reelgpu::testing::clips;
use reelgpu::video::EncoderKind;
use reelgpu::worker::{self, Worker, runpod, runpod::RunpodEnv, selfcheck};

#[derive(Parser)]
#[command(
    name = "reelgpu",
    version,
    about = "GPU export engine for sports highlight reels"
)]
struct Cli {
    /// On failure, print ffmpeg's own last lines too (they always go to the debug log).
    #[arg(long, short, global = true)]
    verbose: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Render one frame (or a contact sheet of a video) through the engine into a PNG.
    Preview(PreviewRequest),
    /// Export a video: decode, run the job's effects on the GPU, encode H.264 + AAC to MP4.
    Export(ExportArgs),
    /// The RunPod serverless worker: jobs from RunPod when `RUNPOD_WEBHOOK_GET_JOB` is set,
    /// otherwise one job from `--test-input` or `./test_input.json`.
    Worker(WorkerArgs),
    /// The worker behind a local HTTP API: `POST /run`, `POST /runsync`, `GET /status/{id}`,
    /// `GET /stream/{id}`, `POST /cancel/{id}`.
    Serve(ServeArgs),
    /// Run one of the web app's calls (render_overlay, process_clips_ai, stitch_members) on
    /// a local folder as storage, printing each progress item as a JSON line.
    Call(CallArgs),
}

#[derive(Debug, clap::Args)]
struct CallArgs {
    /// render_overlay, process_clips_ai or stitch_members.
    function: String,
    /// The call's keyword arguments, as a JSON object.
    #[arg(long)]
    kwargs: PathBuf,
    /// Storage folder: object `{user_id}/{key}` is the file `DIR/{user_id}/{key}`.
    #[arg(long)]
    storage: PathBuf,
    /// Decoder: NVDEC when a trial decode works (auto), or always software.
    #[arg(long, value_enum, default_value_t = DecoderChoice::Auto)]
    decoder: DecoderChoice,
}

#[derive(Debug, clap::Args)]
struct WorkerArgs {
    /// One job as JSON (`{"input": {...}}`): run it and exit 0 on success, 1 on failure.
    #[arg(long = "test-input", alias = "test_input")]
    test_input: Option<String>,
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    #[arg(long, default_value_t = 8000)]
    port: u16,
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
    /// A §10 reel's other sources: `KEY=PATH` for each key its clips name (`source_keys`,
    /// a clip's `input_video_key`); clips naming none, or the job's `input_video_key`, read
    /// `--input`. Repeatable.
    #[arg(long = "source", value_name = "KEY=PATH", value_parser = export::paths::parse_source)]
    sources: Vec<(String, PathBuf)>,
    /// Largest source or output width/height.
    #[arg(long, default_value_t = 4096, env = "REELGPU_MAX_DIMENSION")]
    max_dimension: u32,
    /// Decoder: NVDEC when a trial decode works (auto), or always software.
    #[arg(long, value_enum, default_value_t = DecoderChoice::Auto)]
    decoder: DecoderChoice,
    /// Export a source that decodes with errors anyway, counting them in the summary (as the
    /// job's `params.tolerate_decode_errors`); by default the first decode error fails.
    #[arg(long)]
    tolerate_decode_errors: bool,
    /// Print the summary as one JSON object.
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    // before any thread starts (setting the environment is only sound then) and before wgpu
    let _runtime_dir = private_runtime_dir();
    reelgpu::logging::init();
    let cli = Cli::parse();
    let verbose = cli.verbose;
    let result = match cli.command {
        Command::Worker(args) => return worker_main(args),
        Command::Serve(args) => serve_main(args),
        Command::Call(args) => return call_main(args),
        other => run(other),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // one message in the user's terms; ffmpeg's own output (the lines after the first)
            // only with --verbose, and in the debug log
            let full = format!("{e:#}");
            let mut lines = full.lines();
            let first = lines.next().unwrap_or_default();
            let rest: Vec<&str> = lines.filter(|l| !l.trim().is_empty()).collect();
            eprintln!("error: {first}");
            if !rest.is_empty() {
                tracing::debug!("ffmpeg's last lines:\n{}", rest.join("\n"));
                if verbose {
                    eprintln!("{}", rest.join("\n"));
                } else {
                    eprintln!("(run with --verbose for ffmpeg's own output)");
                }
            }
            ExitCode::FAILURE
        }
    }
}

/// Vulkan's window-system layer wants `XDG_RUNTIME_DIR` and prints an alarming line twice when
/// it is unset or not a folder (as in containers, cron jobs and CI). Then the process gets a
/// private one (mode 0700), removed when it exits.
fn private_runtime_dir() -> Option<tempfile::TempDir> {
    let usable = std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .is_some_and(|d| d.is_absolute() && d.is_dir());
    if usable {
        return None;
    }
    let dir = tempfile::Builder::new()
        .prefix("reelgpu-runtime-")
        .tempdir()
        .ok()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700));
    }
    // SAFETY: called first thing in main, before any other thread exists.
    unsafe { std::env::set_var("XDG_RUNTIME_DIR", dir.path()) };
    Some(dir)
}

/// Start-up shared by `worker` and `serve`: the self-check, then the worker itself.
fn start_worker(production: bool) -> Result<std::sync::Arc<Worker>, selfcheck::Unhealthy> {
    let work_dir = worker::work_dir();
    let checked = selfcheck::run(production, &work_dir)?;
    tracing::info!(health = %serde_json::to_string(&checked.health).unwrap_or_default(), "self-check passed");
    let limits = Limits {
        max_dimension: std::env::var("REELGPU_MAX_DIMENSION")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(Limits::default().max_dimension),
        ..Limits::default()
    };
    Ok(worker::build(checked, limits, work_dir, production))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// A flag that turns true on SIGTERM or SIGINT.
fn stop_signal() -> tokio::sync::watch::Receiver<bool> {
    let (tx, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        #[cfg(unix)]
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! {
            _ = term => tracing::warn!("SIGTERM: stopping"),
            _ = tokio::signal::ctrl_c() => tracing::warn!("SIGINT: stopping"),
        }
        let _ = tx.send(true);
    });
    rx
}

/// A cancel signal that fires on SIGTERM or SIGINT (inside the runtime).
fn cancel_on_stop() -> reelgpu::cancel::CancelToken {
    let cancel = reelgpu::cancel::CancelToken::new();
    let mut stop = stop_signal();
    let token = cancel.clone();
    tokio::spawn(async move {
        if stop.wait_for(|s| *s).await.is_ok() {
            token.cancel(reelgpu::cancel::CancelReason::Shutdown);
        }
    });
    cancel
}

/// What `reelgpu worker` does: RunPod's loop, or one local test job.
enum WorkerMode {
    Production(RunpodEnv),
    TestInput(serde_json::Value),
}

/// Production when `RUNPOD_WEBHOOK_GET_JOB` is set and no test input is given; otherwise the
/// test input (`--test-input` or `./test_input.json`), parsed before any start-up work.
fn worker_mode(test_input: Option<String>) -> Result<WorkerMode, String> {
    if test_input.is_none()
        && let Some(env) = RunpodEnv::from_env()
    {
        return env.map(WorkerMode::Production).map_err(|e| e.to_string());
    }
    let json = match test_input {
        Some(json) => json,
        None => std::fs::read_to_string("test_input.json").map_err(|_| {
            "RUNPOD_WEBHOOK_GET_JOB is not set and there is no test input \
             (--test-input '<json>' or ./test_input.json)"
                .to_string()
        })?,
    };
    let job: serde_json::Value =
        serde_json::from_str(&json).map_err(|e| format!("test input is not valid JSON: {e}"))?;
    Ok(WorkerMode::TestInput(match job.get("input") {
        Some(input) => input.clone(),
        None => job,
    }))
}

fn worker_main(args: WorkerArgs) -> ExitCode {
    let rt = runtime();
    let code = worker_run(args, &rt);
    // a job stage that did not let go of a cancel (see worker::handler) must not keep the
    // process alive: its thread is abandoned
    rt.shutdown_timeout(Duration::from_secs(2));
    code
}

fn worker_run(args: WorkerArgs, rt: &tokio::runtime::Runtime) -> ExitCode {
    let mode = match worker_mode(args.test_input) {
        Ok(mode) => mode,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let production = matches!(mode, WorkerMode::Production(_));
    let worker = match start_worker(production) {
        Ok(w) => w,
        Err(e) => {
            tracing::error!(check = e.check, reason = %e.reason, "self-check failed");
            if let WorkerMode::Production(env) = &mode {
                rt.block_on(runpod::report_unhealthy(env, e.check, &e.reason));
            }
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let input = match mode {
        WorkerMode::Production(env) => {
            rt.block_on(async {
                let stop = stop_signal();
                runpod::run(env, worker, stop).await;
            });
            return ExitCode::SUCCESS;
        }
        WorkerMode::TestInput(input) => input,
    };
    rt.block_on(async {
        let cancel = cancel_on_stop();
        let outcome = worker.run_job(&input, cancel).await;
        let mut result = serde_json::json!({"output": outcome.output});
        if let Some(f) = &outcome.failure {
            result["error"] = serde_json::json!(f.to_string());
        }
        println!("{result}");
        if let Some(task) = outcome.callbacks {
            let _ = tokio::time::timeout(Duration::from_secs(60), task).await;
        }
        if outcome.failure.is_some() {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        }
    })
}

fn serve_main(args: ServeArgs) -> anyhow::Result<()> {
    let worker = start_worker(false)?;
    runtime().block_on(async {
        let listener = tokio::net::TcpListener::bind((args.host.as_str(), args.port))
            .await
            .with_context(|| format!("binding {}:{}", args.host, args.port))?;
        println!("listening on http://{}", listener.local_addr()?);
        let stop = stop_signal();
        worker::serve::serve(listener, worker, stop).await?;
        anyhow::Ok(())
    })
}

/// `reelgpu call`: one call on a storage folder; each stream item is a JSON line on stdout;
/// exit 1 when the call ends with an error item (or cannot start).
fn call_main(args: CallArgs) -> ExitCode {
    let fail = |e: String| {
        eprintln!("error: {e}");
        ExitCode::FAILURE
    };
    let kwargs: serde_json::Value = match std::fs::read_to_string(&args.kwargs)
        .map_err(|e| e.to_string())
        .and_then(|t| serde_json::from_str(&t).map_err(|e| format!("not valid JSON: {e}")))
    {
        Ok(v) => v,
        Err(e) => return fail(format!("--kwargs {}: {e}", args.kwargs.display())),
    };
    let storage = match reelgpu::storage::local::LocalStorage::new(&args.storage) {
        Ok(s) => s,
        Err(e) => return fail(format!("--storage: {e}")),
    };
    let input = serde_json::json!({"function": args.function, "kwargs": kwargs});
    let limits = Limits::default();
    let sink: reelgpu::calls::Sink = std::sync::Arc::new(|item| {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{item}");
        let _ = out.flush();
    });
    let stream = reelgpu::calls::Stream::new(sink);
    // a bad call is refused before the GPU starts
    let call = match reelgpu::calls::parse(&input, &limits) {
        Ok(call) => call,
        Err(e) => {
            let f = reelgpu::task::JobFailure::invalid(e.to_string());
            reelgpu::calls::run::error_item_for(&stream, Some(args.function.as_str()), &f);
            return ExitCode::FAILURE;
        }
    };
    let gpu = match GpuContext::new() {
        Ok(g) => g,
        Err(e) => return fail(e.to_string()),
    };
    let ctx = reelgpu::calls::CallContext {
        storage: std::sync::Arc::new(storage),
        gpu,
        encoder: EncoderKind::detect(),
        decoder: args.decoder,
        limits,
        work_dir: worker::work_dir(),
        detector: Default::default(),
        outros: Default::default(),
    };
    let rt = runtime();
    let failed = rt.block_on(async {
        let cancel = cancel_on_stop();
        let (_, failure) = reelgpu::calls::run(&ctx, call, &stream, &cancel).await;
        failure.is_some()
    });
    rt.shutdown_timeout(Duration::from_secs(2));
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Preview(req) => {
            // Validate the job and the paths before paying for GPU start-up.
            if let Some(job) = &req.job {
                preview::load_job(job)?;
            }
            if let Some(input) = &req.input {
                export::paths::check_input(input).map_err(anyhow::Error::msg)?;
            }
            export::paths::check_output(&req.output).map_err(anyhow::Error::msg)?;
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
        Command::Worker(_) | Command::Serve(_) | Command::Call(_) => {
            unreachable!("handled in main")
        }
    }
}

fn run_export(args: ExportArgs) -> anyhow::Result<()> {
    let limits = Limits {
        max_dimension: args.max_dimension,
        ..Limits::default()
    };
    let mut job = export::load_job(&args.job, &limits)?;
    job.tolerate_decode_errors |= args.tolerate_decode_errors;
    // the paths before anything starts: one clear message per mistake
    if let Some(input) = &args.input {
        export::paths::check_input(input).map_err(anyhow::Error::msg)?;
    }
    for (_, path) in &args.sources {
        export::paths::check_input(path).map_err(anyhow::Error::msg)?;
    }
    export::paths::check_output(&args.output).map_err(anyhow::Error::msg)?;
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
        default_key: job.input_key.clone().unwrap_or_default(),
        sources: args
            .sources
            .iter()
            .map(|(k, p)| (k.clone(), p.to_string_lossy().into_owned()))
            .collect(),
        job,
        output: args.output,
        limits,
        decoder: args.decoder,
        quality: Default::default(),
        cancel: reelgpu::cancel::CancelToken::new(),
    };
    // The GPU comes up on its own thread while the input is probed and the encoder trial
    // runs; the export waits for it only when a frame needs it. A job that draws nothing
    // starts it only if some frame asks.
    let gpu = if req.job.draws() {
        GpuStartup::spawn()
    } else {
        GpuStartup::on_demand()
    };
    let (prepared, encoder) = std::thread::scope(|s| {
        let encoder = s.spawn(EncoderKind::detect);
        let prepared = export::prepare(&req);
        let encoder = encoder
            .join()
            .map_err(|_| anyhow::anyhow!("encoder trial thread panicked"))?;
        anyhow::Ok((prepared, encoder))
    })?;
    let prepared = prepared?;
    let mut report = progress_reporter(prepared.expected_frames);
    let summary = export::run(&gpu, &req, &prepared, encoder, &mut report)?;
    drop(report);
    if args.json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        println!(
            "wrote {} ({} {}x{}, {} frames, {:.2} s) in {:.2} s = {:.1} fps; decoder {}, encoder {}, adapter {}; busy: decode {:.2} s, GPU {:.2} s ({} frames; {} spliced through untouched), encode {:.2} s",
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
            summary.spliced_frames,
            summary.encode_s
        );
        if let Some(u) = &summary.upscaler {
            let sizes: Vec<String> = u
                .input_sizes
                .iter()
                .map(|(w, h)| format!("{w}x{h}"))
                .collect();
            println!(
                "AI x4 upscaler: {} ({} kernel) on crops of {}: {} frames, network {:.2} s = {:.1} ms/frame",
                u.model,
                u.kernel,
                sizes.join(", "),
                u.frames,
                u.network_s,
                u.network_ms_per_frame
            );
        }
    }
    Ok(())
}

/// A progress bar on a terminal; otherwise one JSON line per second on stderr.
fn progress_reporter(total: u64) -> Box<dyn FnMut(u64, u64) -> bool> {
    let started = Instant::now();
    if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(total);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {pos}/{len} frames  {per_sec}  ETA {eta}",
            )
            .expect("progress template"),
        );
        Box::new(move |done, total| {
            bar.set_length(total);
            bar.set_position(done);
            if done >= total {
                bar.finish();
            }
            true
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
            true
        })
    }
}
