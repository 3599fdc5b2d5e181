//! ffmpeg subprocesses: finding ffmpeg, probing sources with ffprobe, extracting chosen frames
//! for previews, and the streaming export's decoder and encoder children (a NUT stream of
//! timestamped raw YUV 4:2:0 frames out of the decoder — the one source of frame time — a
//! Matroska stream of timestamped raw frames into the encoder, and frames held in kernel pipes
//! on their way from one to the other).

pub mod decode;
pub mod encode;
pub mod extract;
pub mod held;
pub mod mkv;
pub mod nut;
pub mod probe;
pub mod process;

pub use decode::{Decoder, DecoderKind};
pub use encode::{Encoder, EncoderKind};
pub use extract::{ExtractedFrame, FrameSelector, extract_frames};
pub use probe::{VideoInfo, probe};
pub use process::{VideoError, ffmpeg_path};
