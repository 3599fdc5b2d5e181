//! The properties the fuzz targets (`fuzz/fuzz_targets/*.rs`) check on arbitrary input, kept
//! here so that the test suite runs them too, over the committed seed corpora and every input
//! a fuzzer ever failed on (`tests/fuzz_corpus.rs`). Each one asserts more than "does not
//! panic": errors name a field, plans hold no NaN or infinity, a valid job is one the
//! timeline takes, and nothing allocates in proportion to a number the input states rather
//! than to the input's size: [`check`] runs a target's property under [`CountingAlloc`] and
//! fails when the most memory it held at once exceeds the target's [`Target::allowance`] for
//! that input's length (a fixed amount the target's own limits explain, plus a multiple of
//! the input's size).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::Value;

use crate::job::reel::ReelTimeline;
use crate::job::timeline::{FrameAt, FramePlan, OverlayTimeline};
use crate::job::{JobParams, JobSpec, Limits, ParamError};

/// A property: panics when the input breaks it.
pub type Property = fn(&[u8]);

/// A fuzz target: its property and the memory it may hold at once.
pub struct Target {
    /// The name of `fuzz/fuzz_targets/<name>.rs` and `fuzz/corpus/<name>/`.
    pub name: &'static str,
    pub property: Property,
    /// Bytes the property may hold whatever the input (what the target's own limits allow:
    /// a 1024×1024 text layer, a model's largest layer), on top of [`PER_INPUT_BYTE`] per
    /// byte of input.
    pub fixed: usize,
}

/// Bytes of memory held at once that one byte of input may account for (a JSON value tree
/// is about 10–40 bytes per input byte; this leaves room without letting through memory
/// that follows a number written in the input).
pub const PER_INPUT_BYTE: usize = 256;

impl Target {
    /// The most memory the property may hold at once on an input of `len` bytes.
    pub fn allowance(&self, len: usize) -> usize {
        self.fixed + PER_INPUT_BYTE * len
    }
}

const MIB: usize = 1 << 20;

/// The targets, by name (the names of `fuzz/fuzz_targets/*.rs` and `fuzz/corpus/*`).
pub const TARGETS: &[Target] = &[
    Target {
        name: "job_input",
        property: job_input,
        fixed: MIB,
    },
    Target {
        name: "call_kwargs",
        property: call_kwargs,
        fixed: MIB,
    },
    Target {
        name: "nut_stream",
        property: nut_stream,
        fixed: MIB,
    },
    Target {
        name: "mkv_round_trip",
        property: mkv_round_trip,
        fixed: MIB,
    },
    // the model's weights are read from the `.bin` that is part of the input; the packed
    // copy for the GPU is at most a few times that
    Target {
        name: "detect_model",
        property: detect_model,
        fixed: MIB,
    },
    Target {
        name: "ncnn_model",
        property: ncnn_model,
        fixed: MIB,
    },
    // a header may state up to 1024×1024 (the property's bound): the decoded RGBA, its
    // premultiplied copy and the frame-sized layer
    Target {
        name: "text_layer_png",
        property: text_layer_png,
        fixed: 24 * MIB,
    },
    // the intro card's layers (§15): the same bound as the text layers'
    Target {
        name: "card_layer_png",
        property: card_layer_png,
        fixed: 24 * MIB,
    },
    Target {
        name: "runpod_take",
        property: runpod_take,
        fixed: MIB,
    },
    Target {
        name: "callback_url",
        property: callback_url,
        fixed: MIB,
    },
];

/// The target named `name`.
pub fn target(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|t| t.name == name)
}

/// A global allocator that counts, per thread, the bytes allocated and not yet freed and
/// the most of them held at once. The fuzz targets and `tests/fuzz_corpus.rs` install it
/// (`#[global_allocator]`); [`check`] needs it.
pub struct CountingAlloc;

static INSTALLED: AtomicBool = AtomicBool::new(false);

thread_local! {
    static LIVE: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

fn grew(bytes: usize) {
    if !INSTALLED.load(Ordering::Relaxed) {
        INSTALLED.store(true, Ordering::Relaxed);
    }
    let _ = LIVE.try_with(|live| {
        let now = live.get() + bytes;
        live.set(now);
        let _ = PEAK.try_with(|p| p.set(p.get().max(now)));
    });
}

fn shrank(bytes: usize) {
    // memory another thread allocated may be freed here: never below zero
    let _ = LIVE.try_with(|live| live.set(live.get().saturating_sub(bytes)));
}

// SAFETY: every call is passed on to `System` unchanged; the counting touches only
// const-initialised thread locals without destructors (no allocation, no re-entry).
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        shrank(layout.size());
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            shrank(layout.size());
            grew(new_size);
        }
        p
    }
}

impl CountingAlloc {
    /// Whether this is the process's global allocator (it has counted an allocation).
    pub fn installed() -> bool {
        INSTALLED.load(Ordering::Relaxed)
    }
}

/// The most bytes held at once by this thread while `f` ran, beyond what it held before.
pub fn peak_held(f: impl FnOnce()) -> usize {
    let start = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(start));
    f();
    PEAK.with(Cell::get).saturating_sub(start)
}

/// Runs the target `name`'s property on `data` and fails (panics) if it breaks the property
/// or holds more memory at once than the target's allowance for `data`'s length. Needs
/// [`CountingAlloc`] as the global allocator.
pub fn check(name: &str, data: &[u8]) {
    let t = target(name).unwrap_or_else(|| panic!("no fuzz target {name}"));
    assert!(
        CountingAlloc::installed(),
        "fuzzing::check needs `#[global_allocator] static A: CountingAlloc = CountingAlloc;`"
    );
    let held = peak_held(|| (t.property)(data));
    let allowed = t.allowance(data.len());
    assert!(
        held <= allowed,
        "{name} held {held} bytes at once on a {}-byte input (allowed {allowed}): memory that \
         follows a number in the input rather than its size",
        data.len()
    );
}

/// A frame size plans are checked on, and the frame times (index, seconds) they are made for.
const FRAME: (u32, u32) = (1920, 1080);
const TIMES: [(u64, f64); 7] = [
    (0, 0.0),
    (1, 1.0 / 30.0),
    (7, 0.25),
    (45, 1.5),
    (301, 10.03),
    (90_000, 3000.0),
    (u32::MAX as u64, 1.0e7),
];

fn assert_names_a_field(e: &ParamError) {
    assert!(
        !e.field.trim().is_empty() && !e.message.trim().is_empty(),
        "an error without a field or message: {e:?}"
    );
}

/// No NaN or infinity anywhere in a plan, and its crop inside the frame.
fn assert_plan_is_sound(plan: &FramePlan, (w, h): (u32, u32)) {
    let text = format!("{plan:?}");
    assert!(
        !text.contains("NaN") && !text.contains("inf"),
        "a plan with a non-finite value: {text}"
    );
    let crop = plan.crop.or(plan.rotated.map(|r| r.crop));
    if let Some(c) = crop {
        assert!(
            c.width >= 1 && c.height >= 1 && c.x + c.width <= w && c.y + c.height <= h,
            "a crop outside the {w}x{h} frame: {c:?}"
        );
    }
}

/// Job JSON (contract Part 1/2) → validation → the timeline at a spread of frame times.
pub fn job_input(data: &[u8]) {
    let Ok(v) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    match JobSpec::from_json(&v, &Limits::default()) {
        Err(e) => assert_names_a_field(&e),
        Ok(spec) => check_spec(&spec),
    }
}

fn check_spec(spec: &JobSpec) {
    let timeline = match &spec.params {
        JobParams::Overlay(p) => OverlayTimeline::new(p),
        JobParams::OverlayV2(p) => OverlayTimeline::v2(p),
        JobParams::Framing(p) => OverlayTimeline::crop_only(&p.crop_keyframes),
        JobParams::Reel(p) => {
            // sources a minute long: a clip that fits the job's own bounds is placed, and one
            // the timeline refuses is refused naming its field
            match ReelTimeline::new(p, &vec![60.0; p.clips_data.len()]) {
                Err(e) => assert_names_a_field(&e),
                Ok(t) => check_reel(&t),
            }
            return;
        }
        JobParams::Annotate(_) => return,
    };
    let mut plan = FramePlan::default();
    for (w, h) in [FRAME, (2, 2), (33, 17)] {
        for (i, s) in TIMES {
            timeline.plan_into(FrameAt::new(i, s), w, h, &mut plan);
            assert_plan_is_sound(&plan, (w, h));
        }
    }
}

fn check_reel(t: &ReelTimeline) {
    assert!(t.fps.is_finite() && t.fps > 0.0);
    assert!(t.duration().is_finite());
    let mut plan = FramePlan::default();
    for (i, clip) in t.clips.iter().enumerate() {
        assert!(clip.frames >= 1);
        for n in [0, 1, clip.frames / 2, clip.frames - 1] {
            let n = n.min(clip.frames - 1);
            let s = clip.source_time(n, t.fps);
            assert!(s.is_finite(), "clip {i} frame {n} at {s}");
            t.plan_into(i, n, FRAME, &mut plan);
            assert_plan_is_sound(&plan, FRAME);
        }
    }
    if t.upscale_ai {
        // a size the engine can make (even, inside the source)
        for i in 0..t.clips.len() {
            let (w, h) = t.network_input(i, FRAME);
            assert!(w >= 2 && h >= 2 && w % 2 == 0 && h % 2 == 0 && w <= 1920 && h <= 1080);
        }
    }
}

/// A call (`{"function", "kwargs"}`, contract Part 3) → parse → the §10 reel or §9 job it
/// becomes → the timeline.
pub fn call_kwargs(data: &[u8]) {
    let Ok(v) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let limits = Limits::default();
    let call = match crate::calls::parse(&v, &limits) {
        Err(e) => return assert_names_a_field(&e),
        Ok(c) => c,
    };
    match call {
        crate::calls::Call::ClipsAi(c) => {
            let facts = vec![
                crate::calls::clips::SourceFacts {
                    fps: 30.0,
                    length_s: 60.0,
                };
                c.sources.len()
            ];
            match c.to_reel(&facts, &limits) {
                Err(e) => assert_names_a_field(&e),
                Ok(p) => match ReelTimeline::new(&p, &vec![60.0; p.clips_data.len()]) {
                    Err(e) => assert_names_a_field(&e),
                    Ok(t) => check_reel(&t),
                },
            }
        }
        crate::calls::Call::RenderOverlay(c) => {
            let timeline = OverlayTimeline::v2(&c.params);
            let mut plan = FramePlan::default();
            for (i, s) in TIMES {
                timeline.plan_into(FrameAt::new(i, s), FRAME.0, FRAME.1, &mut plan);
                assert_plan_is_sound(&plan, FRAME);
            }
        }
        crate::calls::Call::Stitch(c) => assert!(!c.inputs.is_empty()),
        crate::calls::Call::Compose(c) => {
            if let Some((Ok(plan), _)) = &c.intro {
                let frames = plan.frames(30.0);
                for n in [0, 1, frames / 2, frames.saturating_sub(1), frames] {
                    let f = plan.frame(n, 30.0);
                    assert!((0.0..=1.0).contains(&f.flash));
                    assert_eq!(f.layers.len(), plan.layers.len());
                    for l in f.layers {
                        match l {
                            crate::job::card::LayerState::Zoom(z) => assert!(z > 0.0),
                            crate::job::card::LayerState::Text { alpha, y } => {
                                assert!((0.0..=1.0).contains(&alpha) && y.is_finite())
                            }
                            crate::job::card::LayerState::Plain => {}
                        }
                    }
                }
            }
        }
        crate::calls::Call::Detect(c) => {
            use crate::calls::detect::{VideoFacts, frame_numbers};
            assert!((0.0..=1.0).contains(&c.confidence));
            let facts = VideoFacts {
                width: 1920,
                height: 1080,
                fps: 29.97,
                total: 300,
            };
            if let Ok(frames) = frame_numbers(&c.wanted, &facts) {
                assert!(!frames.is_empty() || c.batch());
                assert!(frames.iter().all(|f| *f < facts.total), "{frames:?}");
            }
        }
    }
}

/// A NUT stream as ffmpeg writes decoded frames: headers read, frame bytes skipped; never a
/// panic, and never more than the input's size read ahead.
pub fn nut_stream(data: &[u8]) {
    use std::io::Read;
    let mut r = crate::video::nut::NutReader::new(std::io::Cursor::new(data));
    let mut frames = 0usize;
    loop {
        match r.next_frame() {
            Ok(Some(h)) => {
                frames += 1;
                assert!(frames <= data.len(), "more frames than bytes");
                // skip the frame's bytes as the decoder does (the stream may end first)
                let mut left = h.size as u64;
                let mut sink = [0u8; 4096];
                while left > 0 {
                    let want = left.min(sink.len() as u64) as usize;
                    match r.source().read(&mut sink[..want]) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => left -= n as u64,
                    }
                }
                if let Some(tb) = r.time_base(h.stream) {
                    assert!(tb.num > 0 && tb.den > 0, "a zero time base: {tb:?}");
                }
            }
            Ok(None) | Err(_) => return,
        }
    }
}

/// An ncnn model: the `.param` text, a zero byte, then the `.bin`. Loads or fails naming
/// where; a model that loads has the shape the GPU packs.
pub fn ncnn_model(data: &[u8]) {
    let (param, bin) = match data.iter().position(|&b| b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    let text = String::from_utf8_lossy(param);
    match crate::models::ncnn::parse("fuzz", &text, bin) {
        Err(e) => assert!(!e.is_empty()),
        Ok(m) => {
            assert!(m.convs.len() >= 2 && m.scale >= 1);
            let mut in_ch = 3;
            for c in &m.convs {
                assert_eq!(c.in_ch, in_ch);
                assert_eq!(c.weights.len(), c.in_ch * c.out_ch * 9);
                assert_eq!(c.bias.len(), c.out_ch);
                in_ch = c.out_ch;
            }
            assert_eq!(in_ch, 3 * m.scale * m.scale);
            let (packed, layers) = crate::nn::srvgg::pack_params(&m);
            assert_eq!(layers.len(), m.convs.len());
            assert!(
                packed.len() <= 64 * (bin.len() + 64),
                "packed far beyond the file"
            );
        }
    }
}

/// The player detector's model files: a PyTorch checkpoint (a zip: `PK`), its pickle alone
/// (`0x80`, protocol 2+), or a `.safetensors` state dict; then YOLOv8 built from what they
/// hold. Errors are never empty; a model that builds is consistent (every layer reads what
/// the one before gives, the head has the classes' outputs).
pub fn detect_model(data: &[u8]) {
    use crate::models::{pickle, safetensors, torch_pt, yolo};
    let sd = match data {
        [b'P', b'K', ..] => torch_pt::from_bytes(data),
        [0x80, ..] => {
            if let Ok(p) = pickle::read(data) {
                // every accessor on whatever came out
                let _ = (
                    p.entries(p.root),
                    p.items(p.root),
                    p.global(p.root),
                    p.ints(p.root),
                );
                assert!(p.nodes.len() <= data.len(), "a node per opcode at most");
            }
            return;
        }
        _ => safetensors::state_dict_from_bytes(data),
    };
    let sd = match sd {
        Err(e) => return assert!(!e.is_empty()),
        Ok(sd) => sd,
    };
    for t in sd.tensors.values() {
        assert_eq!(t.data.len(), t.shape.iter().product::<usize>());
    }
    match yolo::build("fuzz", &sd) {
        Err(e) => assert!(!e.is_empty()),
        Ok(m) => {
            assert_eq!(m.layers.len(), 22);
            assert_eq!(m.head.len(), 3);
            let ch = m.channels();
            for l in &m.head {
                assert_eq!(l.classes[2].cout, m.nc);
                assert_eq!(l.boxes[2].cout, 4 * yolo::REG_MAX);
            }
            assert!(ch.iter().all(|c| *c > 0));
            assert_eq!(m.class_names.len(), m.nc);
        }
    }
}

/// A §9 text layer's PNG: the header check, then the decode for a frame of the header's size;
/// errors name the field.
pub fn text_layer_png(data: &[u8]) {
    use crate::job::overlay_v2::{TextImage, TextLayer, check_png_header};
    let Ok((w, h)) = check_png_header(data) else {
        return;
    };
    if w == 0 || h == 0 || w > 1024 || h > 1024 {
        return;
    }
    let layer = TextLayer {
        start_time: 0.0,
        end_time: 1.0,
        image: TextImage::Png(data.to_vec()),
    };
    let format = crate::frame::FrameFormat::new(w, h, Default::default());
    if let Err(e) = crate::effects::text::load_layers(&[layer], &format) {
        assert_names_a_field(&e);
        assert!(e.field.starts_with("params.text_layers[0]"), "{e:?}");
    }
}

/// An intro card layer's bytes (§15): any PNG up to 1024×1024 (the property's bound, by its
/// header) decodes to RGBA8 of its stated size, or fails saying it is not a decodable PNG.
pub fn card_layer_png(data: &[u8]) {
    use crate::job::overlay_v2::check_png_header;
    let Ok((w, h)) = check_png_header(data) else {
        return;
    };
    if w == 0 || h == 0 || w > 1024 || h > 1024 {
        return;
    }
    match crate::effects::card::decode_png(data) {
        Ok(img) => {
            assert_eq!((img.width, img.height), (w, h));
            assert_eq!(img.rgba.len(), (w * h * 4) as usize);
        }
        Err(e) => assert!(e.contains("PNG"), "{e}"),
    }
}

/// A body of RunPod's job-take response: a job is taken only with a string `id` and an
/// `input`, and its input then parses or fails naming a field.
pub fn runpod_take(data: &[u8]) {
    if let Some(job) = crate::worker::runpod::parse_take(data) {
        assert!(job["id"].is_string() && job.get("input").is_some());
        let input = &job["input"];
        if crate::calls::is_call(input) {
            if let Err(e) = crate::calls::parse(input, &Limits::default()) {
                assert_names_a_field(&e);
            }
        } else if let Err(e) = crate::worker::input::JobInput::parse(input, &Limits::default()) {
            assert_names_a_field(&e);
        }
    }
}

/// A job's `callback_url` under the production policy: whatever the spelling, a URL it takes
/// never names an internal address.
pub fn callback_url(data: &[u8]) {
    use crate::worker::callbacks::{CallbackPolicy, is_internal};
    let Ok(url) = std::str::from_utf8(data) else {
        return;
    };
    let prod = CallbackPolicy {
        block_internal: true,
        ..CallbackPolicy::default()
    };
    if let Ok(parsed) = prod.check(url) {
        let host = parsed
            .host_str()
            .expect("a checked URL has a host")
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        match host.parse::<std::net::IpAddr>() {
            Ok(ip) => assert!(!is_internal(ip), "{url} -> {ip}"),
            Err(_) => {
                let d = host.trim_end_matches('.');
                assert!(
                    d != "localhost" && !d.ends_with(".localhost"),
                    "{url} -> {d}"
                );
                // a name that is an address once its trailing dots go must not be internal
                if let Ok(ip) = d.parse::<std::net::IpAddr>() {
                    assert!(!is_internal(ip), "{url} -> {ip}");
                }
                assert!(!d.contains(".."), "{url}: an empty label in {d}");
            }
        }
        assert!(matches!(parsed.scheme(), "https" | "http"));
    }
}

/// The Matroska writer the encoder reads: frames of a size, timestamps and durations taken
/// from the input, written, then read back with a small EBML walker: the header, a Segment of
/// unknown size, Info and Tracks, then one Cluster per frame whose size is exactly its
/// children's, whose Timestamp and BlockDuration are the frame's, and whose Block holds the
/// frame's bytes intact.
pub fn mkv_round_trip(data: &[u8]) {
    use crate::video::mkv::MkvWriter;
    if data.len() < 3 {
        return;
    }
    let (w, h) = (u32::from(data[0] % 17) + 1, u32::from(data[1] % 9) + 1);
    let (cw, ch) = (w.div_ceil(2) as usize, h.div_ceil(2) as usize);
    let frame_bytes = w as usize * h as usize + 2 * cw * ch;
    let nominal = (data[2] & 1 == 1).then_some(33_366_667);
    let mut rest = &data[3..];
    let take_u64 = |rest: &mut &[u8]| -> Option<u64> {
        let (head, tail) = rest.split_at_checked(8)?;
        *rest = tail;
        Some(u64::from_le_bytes(head.try_into().ok()?))
    };
    let mut frames: Vec<(u64, u64, Vec<u8>)> = Vec::new();
    while frames.len() < 6 {
        let (Some(ts), Some(dur)) = (take_u64(&mut rest), take_u64(&mut rest)) else {
            break;
        };
        let fill = frames.len() as u8;
        let frame: Vec<u8> = (0..frame_bytes)
            .map(|i| rest.get(i).copied().unwrap_or(fill ^ i as u8))
            .collect();
        frames.push((ts, dur, frame));
    }
    let mut mkv = MkvWriter::new(Vec::new(), w, h, nominal).expect("writing to memory");
    for (ts, dur, frame) in &frames {
        mkv.write_frame(*ts, *dur, frame)
            .expect("writing to memory");
    }
    let out = mkv.into_inner();
    let mut r = Ebml { data: &out, at: 0 };
    let (id, size) = r.header().expect("EBML header");
    assert_eq!(id, 0x1A45_DFA3);
    r.at += size as usize;
    let (id, size) = r.header().expect("Segment");
    assert_eq!(id, 0x1853_8067);
    assert_eq!(size, u64::MAX, "the Segment's size is unknown");
    let mut ids = Vec::new();
    let mut clusters = Vec::new();
    while r.at < out.len() {
        let (id, size) = r.header().expect("a top-level element");
        let body = r.at..r.at + size as usize;
        assert!(body.end <= out.len(), "element {id:x} runs past the stream");
        ids.push(id);
        if id == 0x1F43_B675 {
            clusters.push(body.clone());
        }
        r.at = body.end;
    }
    assert_eq!(&ids[..2], &[0x1549_A966, 0x1654_AE6B], "Info then Tracks");
    assert_eq!(clusters.len(), frames.len());
    for (body, (ts, dur, frame)) in clusters.into_iter().zip(&frames) {
        let mut c = Ebml {
            data: &out[..body.end],
            at: body.start,
        };
        let (id, size) = c.header().unwrap();
        assert_eq!(id, 0xE7, "the cluster's Timestamp first");
        assert_eq!(c.uint(size), *ts);
        let (id, size) = c.header().unwrap();
        assert_eq!(id, 0xA0, "then its BlockGroup");
        assert_eq!(
            c.at + size as usize,
            body.end,
            "the group fills the cluster"
        );
        let (id, size) = c.header().unwrap();
        assert_eq!(id, 0xA1, "a Block");
        let block = &out[c.at..c.at + size as usize];
        assert_eq!(
            &block[..4],
            &[0x81, 0, 0, 0],
            "track 1, relative time 0, no flags"
        );
        assert_eq!(&block[4..], &frame[..], "the frame's bytes intact");
        c.at += size as usize;
        let (id, size) = c.header().unwrap();
        assert_eq!(id, 0x9B, "then its BlockDuration");
        assert_eq!(c.uint(size), *dur);
        assert_eq!(c.at, body.end);
    }
}

/// Reads EBML element headers (IDs with their length marker, sizes without) out of a buffer.
struct Ebml<'a> {
    data: &'a [u8],
    at: usize,
}

impl Ebml<'_> {
    fn vint(&mut self, keep_marker: bool) -> Option<u64> {
        let first = *self.data.get(self.at)?;
        let len = first.leading_zeros() as usize + 1;
        if len > 8 {
            return None;
        }
        let bytes = self.data.get(self.at..self.at + len)?;
        self.at += len;
        let mut v = u64::from(if keep_marker {
            first
        } else {
            // the first byte's bits after the length marker (none for an 8-byte vint)
            first & 0xFFu8.checked_shr(len as u32).unwrap_or(0)
        });
        for b in &bytes[1..] {
            v = (v << 8) | u64::from(*b);
        }
        // all value bits set: an unknown size
        let unknown = !keep_marker && v == (1u64 << (7 * len)) - 1;
        Some(if unknown { u64::MAX } else { v })
    }

    fn header(&mut self) -> Option<(u32, u64)> {
        let id = self.vint(true)? as u32;
        Some((id, self.vint(false)?))
    }

    fn uint(&mut self, size: u64) -> u64 {
        let b = &self.data[self.at..self.at + size as usize];
        self.at += size as usize;
        b.iter().fold(0, |v, x| (v << 8) | u64::from(*x))
    }
}
