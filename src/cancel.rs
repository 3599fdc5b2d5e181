//! One cancellation signal per job, handed to every stage the way mini-redis hands a shutdown
//! signal to every connection: storage transfers wait on it, and every ffmpeg/ffprobe child
//! registers itself so that cancelling kills it at once — a hung child or a stalled transfer
//! can never keep a job from ending. Cancelling is idempotent; the first reason is kept.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Why a job was stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CancelReason {
    /// The worker is shutting down (SIGTERM past its grace period).
    Shutdown,
    /// The job ran past its deadline (`REELGPU_JOB_TIMEOUT_S`).
    Deadline(Duration),
    /// The caller asked (a progress hook that returned `false`).
    Requested,
}

impl std::fmt::Display for CancelReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CancelReason::Shutdown => write!(f, "the worker is shutting down"),
            CancelReason::Deadline(d) => write!(
                f,
                "the job ran past its deadline of {} s (REELGPU_JOB_TIMEOUT_S)",
                d.as_secs()
            ),
            CancelReason::Requested => write!(f, "stopped on request"),
        }
    }
}

type Hook = Box<dyn FnMut() + Send>;

struct Inner {
    cancelled: AtomicBool,
    reason: Mutex<Option<CancelReason>>,
    hooks: Mutex<Vec<(u64, Hook)>>,
    next_id: AtomicU64,
    wake: tokio::sync::watch::Sender<bool>,
}

/// A job's cancellation signal; clones share it.
#[derive(Clone)]
pub struct CancelToken(Arc<Inner>);

impl Default for CancelToken {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for CancelToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("CancelToken").field(&self.reason()).finish()
    }
}

impl CancelToken {
    pub fn new() -> Self {
        Self(Arc::new(Inner {
            cancelled: AtomicBool::new(false),
            reason: Mutex::new(None),
            hooks: Mutex::new(Vec::new()),
            next_id: AtomicU64::new(0),
            wake: tokio::sync::watch::channel(false).0,
        }))
    }

    /// Stops the job: runs every registered hook (killing the children) and wakes every
    /// waiter. Later calls change nothing.
    pub fn cancel(&self, reason: CancelReason) {
        {
            let mut slot = self.0.reason.lock().unwrap_or_else(|p| p.into_inner());
            if slot.is_some() {
                return;
            }
            *slot = Some(reason);
        }
        self.0.cancelled.store(true, Ordering::SeqCst);
        let mut hooks = self.0.hooks.lock().unwrap_or_else(|p| p.into_inner());
        for (_, hook) in hooks.iter_mut() {
            hook();
        }
        drop(hooks);
        self.0.wake.send_replace(true);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.cancelled.load(Ordering::SeqCst)
    }

    pub fn reason(&self) -> Option<CancelReason> {
        self.0
            .reason
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Runs `hook` when the token is cancelled (at once if it already is) until the returned
    /// guard is dropped. The hook runs under the registry's lock, so once the guard is gone
    /// it can no longer run: a child's hook is dropped before the child is reaped.
    pub fn on_cancel(&self, mut hook: impl FnMut() + Send + 'static) -> CancelGuard {
        let id = self.0.next_id.fetch_add(1, Ordering::Relaxed);
        let mut hooks = self.0.hooks.lock().unwrap_or_else(|p| p.into_inner());
        if self.is_cancelled() {
            hook();
        }
        hooks.push((id, Box::new(hook)));
        CancelGuard {
            token: self.clone(),
            id,
        }
    }

    /// Resolves once the token is cancelled.
    pub async fn cancelled(&self) {
        let mut rx = self.0.wake.subscribe();
        let _ = rx.wait_for(|c| *c).await;
    }
}

/// Keeps a hook registered; dropping it unregisters the hook.
pub struct CancelGuard {
    token: CancelToken,
    id: u64,
}

impl Drop for CancelGuard {
    fn drop(&mut self) {
        let mut hooks = self.token.0.hooks.lock().unwrap_or_else(|p| p.into_inner());
        hooks.retain(|(id, _)| *id != self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn hooks_run_once_and_not_after_their_guard() {
        let token = CancelToken::new();
        let runs = Arc::new(AtomicUsize::new(0));
        let r = runs.clone();
        let kept = token.on_cancel(move || {
            r.fetch_add(1, Ordering::SeqCst);
        });
        let r = runs.clone();
        let dropped = token.on_cancel(move || {
            r.fetch_add(100, Ordering::SeqCst);
        });
        drop(dropped);
        token.cancel(CancelReason::Shutdown);
        token.cancel(CancelReason::Requested);
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert_eq!(token.reason(), Some(CancelReason::Shutdown));
        // registered after the fact: runs at once
        let r = runs.clone();
        let _late = token.on_cancel(move || {
            r.fetch_add(10, Ordering::SeqCst);
        });
        assert_eq!(runs.load(Ordering::SeqCst), 11);
        drop(kept);
    }

    #[tokio::test]
    async fn waiters_wake_when_cancelled() {
        let token = CancelToken::new();
        let t = token.clone();
        let waiter = tokio::spawn(async move { t.cancelled().await });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiter.is_finished());
        token.cancel(CancelReason::Deadline(Duration::from_secs(3)));
        tokio::time::timeout(Duration::from_secs(2), waiter)
            .await
            .expect("woken")
            .unwrap();
        // already cancelled: resolves at once
        token.cancelled().await;
        assert!(token.reason().unwrap().to_string().contains("3 s"));
    }
}
