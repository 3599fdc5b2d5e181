//! ffmpeg subprocesses: finding ffmpeg, probing sources with ffprobe, extracting chosen frames
//! for previews, and the streaming export's decoder and encoder children (raw YUV 4:2:0 out of
//! the decoder, a Matroska stream of timestamped raw frames into the encoder, and frames held in
//! kernel pipes on their way from one to the other).

pub mod decode;
pub mod encode;
pub mod extract;
pub mod held;
pub mod mkv;
pub mod probe;
pub mod process;

pub use decode::{Decoder, DecoderKind};
pub use encode::{Encoder, EncoderKind};
pub use extract::{ExtractedFrame, FrameSelector, count_frames, extract_frames};
pub use probe::{VideoInfo, probe};
pub use process::{VideoError, ffmpeg_path};
