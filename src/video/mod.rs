//! ffmpeg subprocesses. This module finds ffmpeg, probes sources with ffprobe, and extracts
//! chosen frames of a video as raw YUV 4:2:0 for previews; the streaming export builds on the
//! same process handling.

pub mod extract;
pub mod probe;
pub mod process;

pub use extract::{ExtractedFrame, FrameSelector, count_frames, extract_frames};
pub use probe::{VideoInfo, probe};
pub use process::{VideoError, ffmpeg_path};
