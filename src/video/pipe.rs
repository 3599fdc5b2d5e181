//! The encoder's stdin as a frame pipe: when frames are at least as large as the pipe, their
//! data is handed to the kernel with `vmsplice(2)` — the pipe references the frame's pages
//! instead of copying them — and small writes (Matroska headers) are ordinary `write`s.
//!
//! The caller's side of the bargain: a spliced frame's memory must stay unchanged until at least
//! the pipe's capacity more bytes have been written after it (the next frame, or the end of the
//! stream). Then every page of it has left the pipe, i.e. been read by ffmpeg. The export's
//! encoder stage keeps each frame buffer until the next frame is written for this reason.
//! Breaking it cannot cause memory unsafety (the kernel holds page references), only a corrupt
//! frame in the output.

use std::io::{self, Write};
use std::process::ChildStdin;

/// Writes shorter than this are copied even when splicing is on.
const MIN_SPLICE: usize = 16 << 10;

pub struct FramePipe {
    stdin: ChildStdin,
    splice: bool,
}

impl FramePipe {
    /// A pipe for frames of `frame_bytes`; they are spliced when at least the pipe's capacity
    /// (Linux; `REELGPU_NO_VMSPLICE` turns it off).
    pub fn new(stdin: ChildStdin, frame_bytes: usize) -> Self {
        let splice = pipe_capacity(&stdin).is_some_and(|cap| frame_bytes >= cap);
        Self { stdin, splice }
    }

    /// Whether frame data is spliced rather than copied.
    pub fn splices(&self) -> bool {
        self.splice
    }
}

#[cfg(target_os = "linux")]
fn pipe_capacity(stdin: &ChildStdin) -> Option<usize> {
    use std::os::fd::AsRawFd;
    if std::env::var_os("REELGPU_NO_VMSPLICE").is_some() {
        return None;
    }
    // SAFETY: F_GETPIPE_SZ on a descriptor we own.
    let n = unsafe { libc::fcntl(stdin.as_raw_fd(), libc::F_GETPIPE_SZ) };
    (n > 0).then_some(n as usize)
}

#[cfg(not(target_os = "linux"))]
fn pipe_capacity(_stdin: &ChildStdin) -> Option<usize> {
    None
}

impl Write for FramePipe {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        #[cfg(target_os = "linux")]
        if self.splice && buf.len() >= MIN_SPLICE {
            use std::os::fd::AsRawFd;
            let iov = libc::iovec {
                iov_base: buf.as_ptr() as *mut libc::c_void,
                iov_len: buf.len(),
            };
            // SAFETY: the iovec covers `buf`, which is valid for reads; without SPLICE_F_GIFT
            // the kernel only takes references to its pages (see the module docs for why the
            // caller keeps them unchanged).
            let n = unsafe { libc::vmsplice(self.stdin.as_raw_fd(), &iov, 1, 0) };
            return if n < 0 {
                Err(io::Error::last_os_error())
            } else {
                Ok(n as usize)
            };
        }
        self.stdin.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.stdin.flush()
    }
}
