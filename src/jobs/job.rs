//! What every part of one transfer shares: how to open sessions, the
//! cancel flag, progress, the rate limit, and the retry policy.

use std::sync::Arc;

use super::cancel::Cancel;
use super::error::Result;
use super::progress::Progress;
use super::rate::RateLimiter;
use super::retry::Backoff;
use super::session::{Session, Spec};

/// What every part of a job shares.
pub struct Job {
    pub spec: Spec,
    pub cancel: Cancel,
    pub progress: Arc<Progress>,
    pub rate: Option<RateLimiter>,
    pub retries: u32,
    pub backoff: Backoff,
    /// FEAT as already known (cached by the caller); empty if unknown.
    pub features: Vec<(String, String)>,
}

impl Job {
    pub fn has_feature(&self, name: &str) -> bool {
        self.features.iter().any(|(n, _)| n == name)
    }

    pub fn account(&self, n: usize) -> Result<()> {
        self.progress.add(n as u64);
        if let Some(rate) = &self.rate {
            rate.consume(n as u64, &self.cancel)?;
        }
        Ok(())
    }

    pub fn read_size(&self, blocksize: usize) -> usize {
        match &self.rate {
            Some(r) => r.chunk().min(blocksize),
            None => blocksize,
        }
    }

    /// Runs `f` on a session until it succeeds, reconnecting after
    /// transient failures with backoff. `f` must continue where the previous
    /// attempt stopped. A session still in step after a failure is kept.
    pub fn with_retries<T>(
        &self,
        slot: &mut Option<Session>,
        mut f: impl FnMut(&mut Session) -> Result<T>,
    ) -> Result<T> {
        let mut attempt = 0;
        loop {
            let result = (|| {
                if slot.is_none() {
                    *slot = Some(Session::open(&self.spec, &self.cancel)?);
                }
                f(slot.as_mut().expect("opened above"))
            })();
            let err = match result {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            if !err.is_transient() || attempt >= self.retries || self.cancel.is_cancelled() {
                if let Some(s) = slot.take() {
                    s.settle();
                }
                return Err(err);
            }
            attempt += 1;
            if let Some(s) = slot.take() {
                if s.resync().is_ok() {
                    *slot = Some(s);
                } else {
                    s.kill();
                    s.close();
                }
            }
            if slot.is_none() && self.spec.credentials.is_none() {
                // Cannot log in again: the original failure is the answer.
                return Err(err);
            }
            self.cancel.sleep(self.backoff.delay(attempt))?;
        }
    }
}
