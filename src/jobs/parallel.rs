//! A download over N sessions: the file is cut into ranges that workers
//! take from a board; a worker that runs out of work takes the second half
//! of the largest range still being fetched, so that all finish together.
//! Each range is fetched with REST, written in place (pwrite), and ended with
//! ABOR unless it runs to the end of the file.

use std::collections::VecDeque;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use super::cancel::Cancel;
use super::data::Data;
use super::download::{check_digest, DownloadOptions, Outcome, Probe};
use super::error::{Error, Result};
use super::hash::{hash_prefix, Hasher};
use super::job::Job;
use super::local;
use super::ranges::{self, Range};
use super::session::Session;

/// A value one thread learns and others wait for (the directory the
/// sibling sessions change to, learnt on the first session while they
/// connect).
#[derive(Default)]
pub struct Later<T> {
    value: Mutex<Option<std::result::Result<T, String>>>,
    ready: Condvar,
}

impl<T: Clone> Later<T> {
    pub fn set(&self, v: std::result::Result<T, String>) {
        let mut g = self.value.lock().unwrap();
        if g.is_none() {
            *g = Some(v);
            self.ready.notify_all();
        }
    }

    /// Waits for the value, in slices so that `cancel` is obeyed.
    pub fn wait(&self, cancel: &Cancel) -> Result<T> {
        let mut g = self.value.lock().unwrap();
        loop {
            cancel.check()?;
            if let Some(v) = g.as_ref() {
                return v.clone().map_err(Error::Unsupported);
            }
            g = self.ready.wait_timeout(g, Duration::from_millis(50)).unwrap().0;
        }
    }
}

/// Sessions being opened ahead of time, while the first one probes the
/// file, with their own cancel flag: once there is no work left for them,
/// the logins still under way are given up.
pub struct Openers {
    handles: Vec<JoinHandle<Result<Session>>>,
    cancel: Cancel,
}

impl Openers {
    pub fn none(job: &Job) -> Openers {
        Openers { handles: Vec::new(), cancel: job.cancel.child() }
    }

    /// Starts opening `n` sessions in the background; each changes to the
    /// directory `cwd` names once it is known (their logins go out in one
    /// write after the greeting, by when the first session has learnt it),
    /// and opens a data connection for its first range ahead.
    pub fn start(job: &Job, n: usize, cwd: Arc<Later<Option<String>>>) -> Openers {
        let cancel = job.cancel.child();
        let handles = (0..n)
            .map(|_| {
                let (spec, cancel, cwd) = (job.spec.clone(), cancel.clone(), cwd.clone());
                std::thread::spawn(move || Session::open_in(&spec, &cancel, || cwd.wait(&cancel), true))
            })
            .collect();
        Openers { handles, cancel }
    }

    /// Gives up logins still under way, and closes sessions opened for
    /// nothing, without waiting for them.
    pub fn discard(self) {
        self.cancel.cancel();
        if self.handles.is_empty() {
            return;
        }
        std::thread::spawn(move || {
            for h in self.handles {
                if let Ok(Ok(s)) = h.join() {
                    s.close();
                }
            }
        });
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Take {
    Range(Range),
    /// Nothing now, but a worker still logging in may give its range back.
    Wait,
    Done,
}

/// The ranges still to fetch, and where each worker is in its own.
struct Board {
    inner: Mutex<Inner>,
    /// Ranges shorter than this are not split again.
    min_steal: u64,
    /// Worker 0 (the caller's session) only ends transfers with the
    /// server's 226: its range is never split, and it takes no other work
    /// while another worker is left. Set for TLS data connections: a TLS
    /// transfer cut short can cost the control connection (ProFTPD has
    /// been seen to close it), and the caller's must survive the job.
    first_whole: bool,
}

struct Inner {
    queue: VecDeque<Range>,
    /// Per worker: (position, end) of the range it is fetching, or that is
    /// reserved for it until it starts.
    active: Vec<Option<(u64, u64)>>,
    started: Vec<bool>,
}

impl Inner {
    /// One range reserved per worker, so that each session that opens has
    /// work of its own; the rest queued. Worker 0 (the caller's session,
    /// which must end each transfer in step) gets the range that ends where
    /// the file does: it ends with the server's 226 rather than with ABOR.
    fn new(pieces: Vec<Range>, workers: usize, size: u64) -> Inner {
        let mut pieces = pieces;
        if let Some(i) = pieces.iter().position(|r| r.end == size) {
            let last = pieces.remove(i);
            pieces.insert(0, last);
        }
        let mut queue: VecDeque<Range> = pieces.into();
        let active = (0..workers).map(|_| queue.pop_front().map(|r| (r.start, r.end))).collect();
        Inner { queue, active, started: vec![false; workers] }
    }
}

impl Board {
    /// The next range for `worker`: the one reserved for it at the start,
    /// then from the queue, then half of the largest range another worker
    /// holds (fetching it, or about to once its session is open).
    fn take(&self, worker: usize) -> Take {
        let mut g = self.inner.lock().unwrap();
        if !g.started[worker] {
            g.started[worker] = true;
            if let Some((start, end)) = g.active[worker] {
                return Take::Range(Range { start, end });
            }
        }
        if worker == 0 && self.first_whole {
            let others = (1..g.active.len()).any(|j| g.active[j].is_some() || !g.started[j]);
            if others {
                return Take::Wait;
            }
        }
        let range = match g.queue.pop_front() {
            Some(r) => r,
            None => {
                let mut active = g.active.clone();
                if self.first_whole && worker != 0 {
                    active[0] = None;
                }
                let Some((victim, at)) = ranges::steal(&active, self.min_steal) else {
                    // A worker still logging in may yet give its range back.
                    let opening = (0..g.active.len()).any(|j| !g.started[j] && g.active[j].is_some());
                    return if opening { Take::Wait } else { Take::Done };
                };
                let end = g.active[victim].map_or(at, |a| a.1);
                g.active[victim] = g.active[victim].map(|(pos, _)| (pos, at));
                Range { start: at, end }
            }
        };
        g.active[worker] = Some((range.start, range.end));
        Take::Range(range)
    }

    /// Records that `worker` is at `pos`; returns the end of its range,
    /// which may have moved closer since.
    fn advance(&self, worker: usize, pos: u64) -> u64 {
        let mut g = self.inner.lock().unwrap();
        match &mut g.active[worker] {
            Some(a) => {
                a.0 = pos;
                a.1
            }
            None => pos,
        }
    }

    fn end(&self, worker: usize) -> u64 {
        self.inner.lock().unwrap().active[worker].map_or(0, |a| a.1)
    }

    /// `worker` is done with its range; what it did not fetch goes back.
    fn release(&self, worker: usize) {
        let mut g = self.inner.lock().unwrap();
        if let Some((pos, end)) = g.active[worker].take() {
            if pos < end {
                g.queue.push_front(Range { start: pos, end });
            }
        }
    }

    fn missing(self) -> Vec<Range> {
        let g = self.inner.into_inner().unwrap();
        let mut out: Vec<Range> = g.queue.into_iter().collect();
        out.extend(g.active.into_iter().flatten().map(|(s, e)| Range { start: s, end: e }));
        out.retain(|r| !r.is_empty());
        out.sort_by_key(|r| r.start);
        out
    }
}

/// Fetches the `todo` ranges of a file of `size` bytes into `file` over up
/// to `n` sessions: `first` (the caller's), then `openers`, then new ones.
/// Workers whose session cannot be opened (421/530: too many) drop out.
#[allow(clippy::too_many_arguments)]
pub fn ranged(
    job: &Job,
    first: Option<Session>,
    openers: Openers,
    opts: &DownloadOptions,
    file: &File,
    part: &Path,
    size: u64,
    todo: Vec<Range>,
    n: usize,
    resumed: u64,
    p: &Probe,
) -> Result<Outcome> {
    let pieces = ranges::spread(&todo, n, opts.min_range);
    let workers = n.min(pieces.len()).max(1);
    let board = Board {
        inner: Mutex::new(Inner::new(pieces, workers, size)),
        min_steal: ranges::min_steal(size, workers, opts.min_range),
        first_whole: job.spec.tls.as_ref().is_some_and(|t| t.prot_p),
    };
    let failure: Mutex<Option<Error>> = Mutex::new(None);
    let used = AtomicUsize::new(0);
    let cmd = format!("RETR {}", opts.remote);
    let mut first = first;
    let stop_opening = openers.cancel.clone();
    // Each worker but the first takes one opener at its start.
    let openers = Mutex::new(openers);
    std::thread::scope(|scope| {
        for i in 0..workers {
            let initial = if i == 0 { first.take() } else { None };
            let (board, failure, used, cmd, openers, stop_opening) =
                (&board, &failure, &used, &cmd, &openers, &stop_opening);
            scope.spawn(move || {
                let opened = match initial {
                    Some(s) => Ok(s),
                    None => {
                        let next = openers.lock().unwrap().handles.pop();
                        match next {
                            Some(h) => h.join().unwrap_or(Err(Error::Cancelled)),
                            None => Session::open(&job.spec, stop_opening),
                        }
                    }
                };
                let Ok(mut session) = opened else {
                    // Refused (421/530) or unreachable: its range goes to the others.
                    board.release(i);
                    return;
                };
                session.set_cancel(job.cancel.clone());
                let mut slot = Some(session);
                used.fetch_add(1, Ordering::SeqCst);
                let mut buf = vec![0u8; opts.blocksize.clamp(1, 4 << 20)];
                let chunk = job.read_size(buf.len());
                // A transfer stopped at the end of its range, still to be
                // aborted before the session's next command.
                let mut open: Option<Data> = None;
                let fail = |e: Error| {
                    let mut f = failure.lock().unwrap();
                    if f.is_none() && !matches!(e, Error::Cancelled) {
                        *f = Some(e);
                    }
                    job.cancel.cancel();
                };
                loop {
                    let range = match board.take(i) {
                        Take::Range(r) => r,
                        Take::Wait => {
                            if open.is_some() {
                                let r = job.with_retries(&mut slot, |s| open.take().map_or(Ok(()), |d| s.abandon(d)));
                                if let Err(e) = r {
                                    fail(e);
                                    break;
                                }
                            }
                            if job.cancel.sleep(Duration::from_millis(10)).is_err() {
                                break;
                            }
                            continue;
                        }
                        Take::Done => break,
                    };
                    let mut pos = range.start;
                    let r = job.with_retries(&mut slot, |s| {
                        if let Some(d) = open.take() {
                            s.abandon(d)?;
                        }
                        fetch_range(job, s, board, i, cmd, &mut pos, size, file, &mut buf[..chunk])
                    });
                    board.release(i);
                    match r {
                        Ok(d) => open = d,
                        Err(e) => {
                            fail(e);
                            break;
                        }
                    }
                }
                if let Some(s) = slot {
                    // A session of the job's own is closed as it is, with
                    // its transfer: no ABOR round trip at the end. The
                    // caller's must be left in step.
                    let aborted = match open {
                        Some(d) if !s.is_owned() => s.abandon(d).is_ok(),
                        _ => true,
                    };
                    if aborted {
                        s.close();
                    } else {
                        s.settle();
                    }
                }
            });
        }
    });
    openers.into_inner().unwrap().discard();
    let missing = board.missing();
    let connections = used.load(Ordering::SeqCst);
    if let Some(e) = failure.into_inner().unwrap() {
        local::write_state(part, &ranges::format_state(size, &missing))?;
        return Err(e);
    }
    if !missing.is_empty() {
        local::write_state(part, &ranges::format_state(size, &missing))?;
        return Err(if connections == 0 {
            Error::Unsupported("no session could be opened for the transfer".into())
        } else {
            Error::Cancelled
        });
    }
    // Complete: the bytes can only be hashed now, in order.
    let mut checksum = None;
    if let Some((method, _)) = &p.digest {
        let mut h = Hasher::new(method.algorithm());
        hash_prefix(file, size, &mut h, &job.cancel)?;
        checksum = check_digest(p, Some(h))?;
    }
    Ok(Outcome {
        bytes: size - resumed,
        size,
        resumed_from: resumed,
        connections,
        checksum,
        mtime: None,
        features: None,
    })
}

/// One range: REST, then its bytes written in place up to its end (which
/// another worker may bring closer meanwhile). A range that stops short of
/// the end of the file returns its data connection, for the caller to abort
/// (or, at the very end, simply to close with the session).
#[allow(clippy::too_many_arguments)]
fn fetch_range(
    job: &Job,
    s: &mut Session,
    board: &Board,
    worker: usize,
    cmd: &str,
    pos: &mut u64,
    size: u64,
    file: &File,
    buf: &mut [u8],
) -> Result<Option<Data>> {
    let mut end = board.advance(worker, *pos);
    if *pos >= end {
        return Ok(None);
    }
    s.binary()?;
    let rest = (*pos > 0).then_some(*pos);
    // A session of the job's own sends PASV, REST and RETR in one write (see
    // Session::open_data_pipelined). The caller's connects first: stopped
    // (Ctrl-C) before the data connection, a server that waits for it would
    // answer nothing more, and the caller's session must stay usable.
    let (data, _) = if s.is_owned() { s.open_data_pipelined(cmd, rest)? } else { s.open_data(cmd, rest)? };
    while *pos < end {
        let want = buf.len().min((end - *pos) as usize);
        let n = data.read(&mut buf[..want])?;
        if n == 0 {
            // Early end: a complete transfer (2xx) means the file is shorter than SIZE said.
            s.finish(data)?;
            return Err(Error::Verify(format!("size mismatch: the server said {size} bytes, the file ended at {pos}")));
        }
        // The .part was grown with set_len and this region never written:
        // zeros are already there, and skipping them keeps sparse files
        // sparse. (Bytes past an end moved meanwhile are the same bytes
        // another worker writes.)
        if !is_zero(&buf[..n]) {
            file.write_all_at(&buf[..n], *pos).map_err(Error::Local)?;
        }
        let counted = (n as u64).min(end.saturating_sub(*pos));
        *pos += n as u64;
        end = board.advance(worker, *pos);
        job.account(counted as usize)?;
    }
    if board.end(worker) == size {
        let n = data.read(&mut buf[..1])?;
        if n > 0 {
            return Err(Error::Verify(format!("size mismatch: the server said {size} bytes and sent more")));
        }
        s.finish(data)?;
        Ok(None)
    } else {
        Ok(Some(data))
    }
}

/// Whether every byte is zero: compared a page at a time with a page of
/// zeros, which is memcmp (fast in any build).
fn is_zero(data: &[u8]) -> bool {
    static ZEROS: [u8; 4096] = [0; 4096];
    data.chunks(4096).all(|page| page == &ZEROS[..page.len()])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_blocks() {
        assert!(is_zero(&[]));
        assert!(is_zero(&[0; 10000]));
        let mut v = vec![0u8; 10000];
        v[9999] = 1;
        assert!(!is_zero(&v));
    }

    fn board(queue: Vec<Range>, workers: usize) -> Board {
        Board { inner: Mutex::new(Inner::new(queue, workers, 1000)), min_steal: 10, first_whole: false }
    }

    #[test]
    fn with_tls_the_first_range_is_kept_whole() {
        let mut b = board(vec![Range { start: 0, end: 600 }, Range { start: 600, end: 1000 }], 2);
        b.first_whole = true;
        // Worker 0 holds the range ending at the end of the file.
        assert_eq!(b.take(0), Take::Range(Range { start: 600, end: 1000 }));
        assert_eq!(b.take(1), Take::Range(Range { start: 0, end: 600 }));
        assert_eq!(b.advance(1, 600), 600);
        b.release(1);
        // Worker 1 finds nothing queued, and worker 0's range is not split.
        assert_eq!(b.advance(0, 700), 1000);
        assert_eq!(b.take(1), Take::Done);
        assert_eq!(b.end(0), 1000);
        // Worker 0 waits while another worker may still fetch.
        let mut b = board(vec![Range { start: 0, end: 600 }, Range { start: 600, end: 1000 }], 2);
        b.first_whole = true;
        assert_eq!(b.take(0), Take::Range(Range { start: 600, end: 1000 }));
        assert_eq!(b.advance(0, 1000), 1000);
        b.release(0);
        assert_eq!(b.take(1), Take::Range(Range { start: 0, end: 600 }));
        assert_eq!(b.take(0), Take::Wait);
        // Once no other worker is left, worker 0 takes what remains.
        b.inner.lock().unwrap().active[1] = Some((300, 600));
        b.release(1);
        assert_eq!(b.take(0), Take::Range(Range { start: 300, end: 600 }));
    }

    #[test]
    fn takes_from_the_queue_then_steals_half_of_the_largest() {
        let b = board(vec![Range { start: 0, end: 100 }, Range { start: 100, end: 400 }], 3);
        assert_eq!(b.take(0), Take::Range(Range { start: 0, end: 100 }));
        assert_eq!(b.take(1), Take::Range(Range { start: 100, end: 400 }));
        assert_eq!(b.advance(1, 200), 400);
        // Worker 2 finds the queue empty: it takes [300, 400) from worker 1.
        assert_eq!(b.take(2), Take::Range(Range { start: 300, end: 400 }));
        assert_eq!(b.end(1), 300);
        assert_eq!(b.advance(1, 250), 300);
    }

    #[test]
    fn small_ranges_are_not_split() {
        let b = board(vec![Range { start: 0, end: 15 }], 2);
        assert_eq!(b.take(0), Take::Range(Range { start: 0, end: 15 }));
        assert_eq!(b.take(1), Take::Done);
    }

    #[test]
    fn a_reserved_range_waits_for_its_worker_or_goes_back() {
        let b = board(vec![Range { start: 0, end: 15 }, Range { start: 15, end: 30 }], 2);
        assert_eq!(b.take(0), Take::Range(Range { start: 0, end: 15 }));
        b.advance(0, 15);
        b.release(0);
        assert_eq!(b.take(0), Take::Wait); // worker 1 is still logging in
        b.release(1); // ... and was refused
        assert_eq!(b.take(0), Take::Range(Range { start: 15, end: 30 }));
    }

    #[test]
    fn released_remainders_are_missing() {
        let b = board(vec![Range { start: 0, end: 100 }, Range { start: 100, end: 200 }], 2);
        let _ = b.take(0);
        b.advance(0, 40);
        b.release(0);
        assert_eq!(b.missing(), vec![Range { start: 40, end: 100 }, Range { start: 100, end: 200 }]);
    }
}
