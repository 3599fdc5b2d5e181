//! Frames held in kernel pipes. A frame that needs no processing moves from the decoder's
//! stdout into a holder and from there into the encoder's stdin with `splice(2)`: the kernel
//! passes page references along, and the frame's bytes are never copied through this
//! process. A holder is a few pipes of our own, because one pipe holds at most 1 MiB (the
//! unprivileged limit) and a 1080p frame is 3 MB; holding the frame is what lets the encoder
//! keep writing one frame behind (a frame's duration is known when the next one arrives).
//!
//! Linux only: elsewhere, or where the pipe quota is spent, [`HeldFrame::with_room`] gives
//! `None` and frames go through memory buffers as before.

use std::io;
#[cfg(target_os = "linux")]
use std::os::fd::{AsFd, BorrowedFd};

/// A pipe end a holder can take a frame from or give it to (an ffmpeg child's stdout or
/// stdin).
pub trait PipeEnd {
    #[cfg(target_os = "linux")]
    fn pipe_fd(&self) -> BorrowedFd<'_>;
}

#[cfg(target_os = "linux")]
impl<T: AsFd> PipeEnd for T {
    fn pipe_fd(&self) -> BorrowedFd<'_> {
        self.as_fd()
    }
}

#[cfg(not(target_os = "linux"))]
impl<T> PipeEnd for T {}

/// Room for one frame in kernel pipes.
pub struct HeldFrame {
    #[cfg(target_os = "linux")]
    pipes: Vec<linux::Pipe>,
    /// Bytes in each pipe.
    #[cfg(target_os = "linux")]
    filled: Vec<usize>,
    frame_bytes: usize,
}

impl HeldFrame {
    /// A holder for one `frame_bytes` frame, or `None` where frames cannot be held here.
    pub fn with_room(frame_bytes: usize) -> Option<Self> {
        #[cfg(target_os = "linux")]
        {
            linux::with_room(frame_bytes)
                .map_err(|e| tracing::debug!("frames go through memory: {e}"))
                .ok()
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = frame_bytes;
            None
        }
    }

    /// Bytes held now.
    pub fn len(&self) -> usize {
        #[cfg(target_os = "linux")]
        {
            self.filled.iter().sum()
        }
        #[cfg(not(target_os = "linux"))]
        {
            0
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The frame size this holder was made for.
    pub fn frame_bytes(&self) -> usize {
        self.frame_bytes
    }

    /// Moves the next `frame_bytes` bytes of the pipe `src` into the (empty) holder, waiting
    /// for them as needed. Returns how many moved: fewer only when `src` ended.
    pub fn fill_from(&mut self, src: &impl PipeEnd) -> io::Result<usize> {
        #[cfg(target_os = "linux")]
        {
            linux::fill(self, src.pipe_fd())
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = src;
            Err(io::ErrorKind::Unsupported.into())
        }
    }

    /// Moves everything held into the pipe `dst` (blocking until it takes it), emptying the
    /// holder.
    pub fn drain_into(&mut self, dst: &impl PipeEnd) -> io::Result<()> {
        #[cfg(target_os = "linux")]
        {
            linux::drain(self, dst.pipe_fd())
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = dst;
            Err(io::ErrorKind::Unsupported.into())
        }
    }

    /// Throws away what is held (a frame left behind by a failed run), so the holder can be
    /// used again.
    pub fn clear(&mut self) -> io::Result<()> {
        #[cfg(target_os = "linux")]
        {
            linux::clear(self)
        }
        #[cfg(not(target_os = "linux"))]
        {
            Ok(())
        }
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use std::io;
    use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

    use super::HeldFrame;

    /// Most pipes one holder may use (a 4K frame needs 13 of 1 MiB).
    const MAX_PIPES: usize = 64;
    /// The size asked for each pipe (Linux's default ceiling for unprivileged processes).
    const PIPE_BYTES: usize = 1 << 20;

    pub(super) struct Pipe {
        read: OwnedFd,
        /// Non-blocking, so a full pipe answers `EAGAIN` instead of waiting for a reader
        /// that is this very thread.
        write: OwnedFd,
    }

    fn check(r: libc::c_int) -> io::Result<libc::c_int> {
        if r < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(r)
        }
    }

    fn page_bytes() -> usize {
        // SAFETY: sysconf has no preconditions.
        let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        if p > 0 { p as usize } else { 4096 }
    }

    /// A pipe of about `want` bytes; returns it and its actual capacity.
    fn pipe(want: usize) -> io::Result<(Pipe, usize)> {
        let mut fds = [0; 2];
        // SAFETY: pipe2 writes two descriptors into the array on success.
        check(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) })?;
        // SAFETY: both descriptors are fresh and owned by nobody else.
        let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        let w = write.as_raw_fd();
        // SAFETY: fcntl on a descriptor we own. A refused size keeps the default.
        let size = unsafe { libc::fcntl(w, libc::F_SETPIPE_SZ, want as libc::c_int) };
        let size = if size > 0 {
            size
        } else {
            // SAFETY: as above.
            check(unsafe { libc::fcntl(w, libc::F_GETPIPE_SZ) })?
        };
        // SAFETY: as above.
        let flags = check(unsafe { libc::fcntl(w, libc::F_GETFL) })?;
        // SAFETY: as above.
        check(unsafe { libc::fcntl(w, libc::F_SETFL, flags | libc::O_NONBLOCK) })?;
        Ok((Pipe { read, write }, size as usize))
    }

    /// Pipes whose slots (one page each) can take a frame that starts and ends mid-page, when
    /// the source's pages are full (ffmpeg writes whole pages); [`fill`] adds pipes when they
    /// are not.
    pub(super) fn with_room(frame_bytes: usize) -> io::Result<HeldFrame> {
        let page = page_bytes();
        let need = (frame_bytes.div_ceil(page) + 2) * page;
        let mut pipes = Vec::new();
        let mut room = 0;
        while room < need {
            if pipes.len() == MAX_PIPES {
                return Err(io::Error::other(format!(
                    "{MAX_PIPES} pipes hold only {room} of {need} bytes (pipe quota spent?)"
                )));
            }
            let want = (need - room).next_power_of_two().clamp(page, PIPE_BYTES);
            let (p, size) = pipe(want)?;
            room += size;
            pipes.push(p);
        }
        let n = pipes.len();
        Ok(HeldFrame {
            pipes,
            filled: vec![0; n],
            frame_bytes,
        })
    }

    fn poll(
        fd: BorrowedFd<'_>,
        events: libc::c_short,
        timeout_ms: libc::c_int,
    ) -> io::Result<bool> {
        let mut p = libc::pollfd {
            fd: fd.as_raw_fd(),
            events,
            revents: 0,
        };
        loop {
            // SAFETY: one valid pollfd.
            match check(unsafe { libc::poll(&mut p, 1, timeout_ms) }) {
                Ok(n) => return Ok(n > 0),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    fn splice(
        from: BorrowedFd<'_>,
        to: BorrowedFd<'_>,
        len: usize,
        flags: libc::c_uint,
    ) -> io::Result<usize> {
        loop {
            // SAFETY: two valid descriptors, no offsets (both are pipes).
            let n = unsafe {
                libc::splice(
                    from.as_raw_fd(),
                    std::ptr::null_mut(),
                    to.as_raw_fd(),
                    std::ptr::null_mut(),
                    len,
                    flags,
                )
            };
            if n >= 0 {
                return Ok(n as usize);
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }

    pub(super) fn fill(h: &mut HeldFrame, src: BorrowedFd<'_>) -> io::Result<usize> {
        debug_assert!(h.filled.iter().all(|&f| f == 0), "holder not empty");
        let mut left = h.frame_bytes;
        let mut k = 0;
        while left > 0 {
            let to = h.pipes[k].write.as_fd();
            match splice(src, to, left, libc::SPLICE_F_MOVE | libc::SPLICE_F_NONBLOCK) {
                Ok(0) => break, // the source ended
                Ok(n) => {
                    h.filled[k] += n;
                    left -= n;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    // either this pipe is full or the source has nothing yet
                    if !poll(to, libc::POLLOUT, 0)? {
                        k += 1;
                        if k == h.pipes.len() {
                            // the source's pages were not full (its writer wrote sizes that
                            // are not whole pages): grow once, reused for later frames
                            if k == MAX_PIPES {
                                return Err(io::Error::other(format!(
                                    "frame holder full at {MAX_PIPES} pipes"
                                )));
                            }
                            let (p, _) = pipe(PIPE_BYTES)?;
                            h.pipes.push(p);
                            h.filled.push(0);
                        }
                    } else {
                        poll(src, libc::POLLIN, -1)?;
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Ok(h.frame_bytes - left)
    }

    pub(super) fn drain(h: &mut HeldFrame, dst: BorrowedFd<'_>) -> io::Result<()> {
        for (p, filled) in h.pipes.iter().zip(h.filled.iter_mut()) {
            while *filled > 0 {
                match splice(p.read.as_fd(), dst, *filled, libc::SPLICE_F_MOVE)? {
                    0 => return Err(io::ErrorKind::WriteZero.into()),
                    n => *filled -= n,
                }
            }
        }
        Ok(())
    }

    pub(super) fn clear(h: &mut HeldFrame) -> io::Result<()> {
        for (p, filled) in h.pipes.iter_mut().zip(h.filled.iter_mut()) {
            if *filled > 0 {
                // SAFETY: fcntl on a descriptor we own.
                let size = check(unsafe { libc::fcntl(p.write.as_raw_fd(), libc::F_GETPIPE_SZ) })?;
                let (fresh, _) = pipe(size as usize)?;
                *p = fresh;
                *filled = 0;
            }
        }
        Ok(())
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    fn os_pipe() -> (std::fs::File, std::fs::File) {
        let mut fds = [0; 2];
        // SAFETY: pipe2 writes two fresh descriptors.
        assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
        use std::os::fd::FromRawFd;
        // SAFETY: fresh descriptors owned by the files.
        unsafe {
            (
                std::fs::File::from_raw_fd(fds[0]),
                std::fs::File::from_raw_fd(fds[1]),
            )
        }
    }

    /// Random-ish frames (never all zero) written by one thread, held and passed on by this
    /// one, read back by a third: every byte arrives, in order, frame boundaries mid-page.
    #[test]
    fn frames_pass_through_holders_byte_for_byte() {
        let frame_bytes = 3 * 1024 * 1024 + 1234; // several pipes, ends mid-page
        let frames = 5usize;
        let data: Vec<u8> = (0..frame_bytes * frames)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8 | 1)
            .collect();
        let (src_r, mut src_w) = os_pipe();
        let (dst_r, dst_w) = os_pipe();
        let expected = data.clone();
        let writer = std::thread::spawn(move || {
            // uneven writes, so pipe pages are not aligned with frames
            for chunk in data.chunks(100_003) {
                src_w.write_all(chunk).unwrap();
            }
        });
        let reader = std::thread::spawn(move || {
            let mut got = Vec::new();
            let mut r = dst_r;
            r.read_to_end(&mut got).unwrap();
            got
        });
        let mut holders = [
            HeldFrame::with_room(frame_bytes).expect("holder"),
            HeldFrame::with_room(frame_bytes).expect("holder"),
        ];
        // one frame behind, like the encoder
        for i in 0..frames {
            let h = &mut holders[i % 2];
            assert_eq!(h.fill_from(&src_r).unwrap(), frame_bytes);
            assert_eq!(h.len(), frame_bytes);
            if i > 0 {
                holders[(i + 1) % 2].drain_into(&dst_w).unwrap();
            }
        }
        holders[(frames - 1) % 2].drain_into(&dst_w).unwrap();
        assert!(holders.iter().all(HeldFrame::is_empty));
        // the source is over: a fill moves nothing
        writer.join().unwrap();
        assert_eq!(holders[0].fill_from(&src_r).unwrap(), 0);
        drop(dst_w);
        let got = reader.join().unwrap();
        assert_eq!(got.len(), expected.len());
        assert!(got == expected, "bytes differ");
    }

    #[test]
    fn a_short_source_and_a_cleared_holder() {
        let (src_r, mut src_w) = os_pipe();
        let mut h = HeldFrame::with_room(10_000).unwrap();
        src_w.write_all(&[7u8; 4000]).unwrap();
        drop(src_w);
        assert_eq!(h.fill_from(&src_r).unwrap(), 4000);
        h.clear().unwrap();
        assert!(h.is_empty());
        // the cleared holder works again
        let (src_r, mut src_w) = os_pipe();
        let (mut dst_r, dst_w) = os_pipe();
        src_w.write_all(&[9u8; 10_000]).unwrap();
        assert_eq!(h.fill_from(&src_r).unwrap(), 10_000);
        h.drain_into(&dst_w).unwrap();
        drop(dst_w);
        let mut got = Vec::new();
        dst_r.read_to_end(&mut got).unwrap();
        assert_eq!(got, vec![9u8; 10_000]);
    }
}
