//! Stopping a running guest from outside: a signal or the timeout.
//!
//! A stop has two steps ([`Stop`]). First the guest is asked: the
//! `lifecycle.stopping` pollable turns ready and `buffer.poll` returns the
//! `stopping` error once no record is left, so a tool can print its final
//! report, as a native one does in its SIGINT handler. Then, when the
//! grace period ends or a second signal comes, it is forced: the guest is
//! stopped wherever it is.
//!
//! A guest can be in one of four places when forced to stop: computing in
//! wasm (it yields to the runtime at every epoch tick), waiting in WASI (a
//! future on the runtime), waiting in `buffer.poll` (blocked in
//! `epoll_wait` on the runtime's own thread, which keeps event delivery as
//! cheap as a native consumer's), or in a system call that nothing wakes
//! (the verifier on a big program, a read of a FIFO on WASI's blocking
//! threads). The interrupt reaches the first three: the runtime awaits
//! [`Interrupt::fired`], and every buffer's wait set holds the
//! interrupt's eventfd. For the fourth, the run's watchdog waits for
//! [`Stop::end`] and ends the process if it does not come.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::Duration;

use rustix::event::{eventfd, EventfdFlags};
use tokio::sync::Notify;

/// Why a guest was stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// This signal (SIGINT, SIGTERM) arrived.
    Signal(i32),
    /// The `--timeout` passed.
    Timeout,
}

/// A one-shot stop request, shared by whoever may fire it and everything
/// that waits.
#[derive(Debug)]
pub struct Interrupt {
    /// Readable once fired, and stays so: every later wait returns at once.
    fd: OwnedFd,
    /// 0 until fired; then -1 for the timeout or the signal number.
    cause: AtomicI32,
    notify: Notify,
}

impl Interrupt {
    pub fn new() -> std::io::Result<Self> {
        Ok(Self {
            fd: eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)?,
            cause: AtomicI32::new(0),
            notify: Notify::new(),
        })
    }

    /// Asks the guest to stop; the first cause is the one kept. Whether
    /// this was the first.
    pub fn fire(&self, cause: Cause) -> bool {
        let code = match cause {
            Cause::Signal(signal) => signal,
            Cause::Timeout => -1,
        };
        if self
            .cause
            .compare_exchange(0, code, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
        {
            // A full counter is still readable, which is all that matters.
            let _ = rustix::io::write(&self.fd, &1u64.to_ne_bytes());
            self.notify.notify_waiters();
            return true;
        }
        false
    }

    /// Why the guest was asked to stop, if it was.
    pub fn cause(&self) -> Option<Cause> {
        match self.cause.load(Ordering::SeqCst) {
            0 => None,
            -1 => Some(Cause::Timeout),
            signal => Some(Cause::Signal(signal)),
        }
    }

    /// Completes once the interrupt has fired.
    pub async fn fired(&self) -> Cause {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            // Registered before the check, so a `fire` in between wakes us.
            notified.as_mut().enable();
            if let Some(cause) = self.cause() {
                return cause;
            }
            notified.await;
        }
    }

    /// The fd a waiting host call adds to its wait set.
    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// A run's stop, in two steps: `requested` (the guest should finish) and
/// `forced` (the guest is stopped where it is); and whether the guest's
/// run has ended, which a forced stop waits for.
#[derive(Debug)]
pub struct Stop {
    pub requested: Interrupt,
    pub forced: Interrupt,
    ended: Mutex<bool>,
    ended_changed: Condvar,
    shares_process: bool,
}

impl Stop {
    pub fn new() -> std::io::Result<Self> {
        Ok(Self {
            requested: Interrupt::new()?,
            forced: Interrupt::new()?,
            ended: Mutex::new(false),
            ended_changed: Condvar::new(),
            shares_process: false,
        })
    }

    /// The stop of a guest that shares its process with others (in
    /// `wasm-bpf agent`): a forced stop the guest cannot answer, stuck in
    /// a system call, is reported rather than ending the process.
    pub fn sharing_process() -> std::io::Result<Self> {
        Ok(Self {
            shares_process: true,
            ..Self::new()?
        })
    }

    /// Whether other guests run in this process.
    pub fn shares_process(&self) -> bool {
        self.shares_process
    }

    /// Says that the guest's run has ended: it returned, trapped, or a
    /// forced stop won the race against it.
    pub fn end(&self) {
        *self.ended.lock().unwrap_or_else(PoisonError::into_inner) = true;
        self.ended_changed.notify_all();
    }

    /// Waits up to `timeout` for [`Self::end`]; whether it came.
    pub fn wait_end(&self, timeout: Duration) -> bool {
        let ended = self.ended.lock().unwrap_or_else(PoisonError::into_inner);
        let (ended, _) = self
            .ended_changed
            .wait_timeout_while(ended, timeout, |ended| !*ended)
            .unwrap_or_else(PoisonError::into_inner);
        *ended
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_cause_wins_and_the_fd_stays_readable() {
        let interrupt = Interrupt::new().expect("eventfd");
        assert_eq!(interrupt.cause(), None);
        assert!(interrupt.fire(Cause::Signal(libc::SIGTERM)));
        assert!(!interrupt.fire(Cause::Timeout));
        assert_eq!(interrupt.cause(), Some(Cause::Signal(libc::SIGTERM)));
        let mut fds = [rustix::event::PollFd::new(
            &interrupt.fd,
            rustix::event::PollFlags::IN,
        )];
        let ready = rustix::event::poll(&mut fds, None).expect("poll");
        assert_eq!(ready, 1);
        let again = rustix::event::poll(&mut fds, None).expect("poll");
        assert_eq!(again, 1, "still readable");
    }

    #[test]
    fn the_end_is_waited_for_until_it_comes_or_time_is_up() {
        let stop = std::sync::Arc::new(Stop::new().expect("eventfds"));
        assert!(!stop.wait_end(Duration::from_millis(20)));
        let ender = std::sync::Arc::clone(&stop);
        let thread = std::thread::spawn(move || ender.end());
        assert!(stop.wait_end(Duration::from_secs(60)));
        thread.join().expect("the ending thread");
    }
}
