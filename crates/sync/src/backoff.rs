//! Retry pauses: doubling from 1 s to at most 60 s, with ±20 % jitter so that the PCs of a
//! city do not all come back in the same second after an outage. There is no retry limit:
//! the outbox is only ever emptied by the hub's answers.

use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Backoff {
    attempt: u32,
}

pub const FIRST: Duration = Duration::from_secs(1);
pub const MAX: Duration = Duration::from_secs(60);

impl Backoff {
    pub fn new() -> Backoff {
        Backoff { attempt: 0 }
    }

    /// The pause before the next attempt; `jitter` in [0, 1).
    pub fn next(&mut self, jitter: f64) -> Duration {
        let base = FIRST.saturating_mul(1u32 << self.attempt.min(16)).min(MAX);
        self.attempt = self.attempt.saturating_add(1);
        base.mul_f64(0.8 + 0.4 * jitter.clamp(0.0, 1.0))
    }

    pub fn reset(&mut self) {
        self.attempt = 0;
    }

    pub fn attempts(&self) -> u32 {
        self.attempt
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_cap_and_never_gives_up() {
        let mut b = Backoff::new();
        let pauses: Vec<u64> = (0..12).map(|_| b.next(0.5).as_millis() as u64).collect();
        assert_eq!(&pauses[..7], &[1000, 2000, 4000, 8000, 16000, 32000, 60000]);
        assert!(pauses[7..].iter().all(|&p| p == 60000));
        for _ in 0..1000 {
            assert!(b.next(0.99) <= MAX.mul_f64(1.2));
        }
        b.reset();
        assert_eq!(b.next(0.0), FIRST.mul_f64(0.8));
    }
}
