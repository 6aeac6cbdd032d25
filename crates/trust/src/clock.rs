//! The one time source of the workspace, behind a trait so that every time-dependent check
//! (credential validity, certificate validity, status list `ttl`, code and nonce lifetimes) can be
//! driven by a settable clock in tests instead of sleeping.

use std::fmt;
use std::time::SystemTime;
use std::time::UNIX_EPOCH;

/// Something that tells the current time as Unix seconds.
pub trait Clock: Send + Sync + fmt::Debug {
    /// Seconds since 1970-01-01T00:00:00Z.
    fn now(&self) -> i64;
}

/// The system clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            // A clock before 1970 is broken; every time check then fails closed.
            Err(_) => 0,
        }
    }
}

/// A clock that stands still until told otherwise. For tests (feature `mock`).
#[cfg(any(test, feature = "mock"))]
#[derive(Debug, Default)]
pub struct ManualClock {
    now: std::sync::atomic::AtomicI64,
}

#[cfg(any(test, feature = "mock"))]
impl ManualClock {
    /// A clock showing `now` (Unix seconds).
    pub fn new(now: i64) -> Self {
        Self {
            now: std::sync::atomic::AtomicI64::new(now),
        }
    }

    /// A clock showing the current system time.
    pub fn at_system_time() -> Self {
        Self::new(SystemClock.now())
    }

    /// Sets the time.
    pub fn set(&self, now: i64) {
        self.now.store(now, std::sync::atomic::Ordering::SeqCst);
    }

    /// Moves the time by `seconds` (may be negative).
    pub fn advance(&self, seconds: i64) {
        self.now
            .fetch_add(seconds, std::sync::atomic::Ordering::SeqCst);
    }
}

#[cfg(any(test, feature = "mock"))]
impl Clock for ManualClock {
    fn now(&self) -> i64 {
        self.now.load(std::sync::atomic::Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::new(1_000);
        assert_eq!(clock.now(), 1_000);
        clock.advance(61);
        assert_eq!(clock.now(), 1_061);
        clock.set(5);
        assert_eq!(clock.now(), 5);
        assert!(SystemClock.now() > 1_700_000_000);
    }
}
