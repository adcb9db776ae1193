//! Whole-file downloads: probe (SIZE, MLST/MDTM, the server's hash), then
//! one stream or N ranges written in place, with retries that reconnect and
//! continue from the last byte, verification, and the final rename.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::SyncSender;
use std::sync::Mutex;

use crate::proto::feat::{choose_hash, parse_hash_reply, HashMethod};

use super::error::{Error, Result};
use super::hash::{hash_prefix, Hasher};
use super::local;
use super::ranges::{self, Range};
use super::session::{parse_time_val, Session};

pub use super::job::Job;

pub struct DownloadOptions {
    pub remote: String,
    pub connections: usize,
    pub resume: bool,
    pub verify: bool,
    pub preserve_mtime: bool,
    pub blocksize: usize,
    /// Ranges shorter than this are not split further.
    pub min_range: u64,
}

/// Where the bytes go.
pub enum Sink {
    /// `part`, renamed onto `target` once complete and verified.
    Path { target: PathBuf, part: PathBuf },
    /// Blocks handed to the caller (a Python file object), in order.
    Stream(SyncSender<Vec<u8>>),
}

#[derive(Debug, Default)]
pub struct Outcome {
    /// Bytes moved by this call.
    pub bytes: u64,
    /// The size of the complete file.
    pub size: u64,
    pub resumed_from: u64,
    pub connections: usize,
    pub checksum: Option<(String, String)>,
    pub mtime: Option<i64>,
}

/// What the server told about the file before the transfer.
struct Probe {
    size: Option<u64>,
    mtime: Option<i64>,
    /// The server's digest: (method, hex).
    digest: Option<(HashMethod, String)>,
}

fn probe(job: &Job, s: &mut Session, opts: &DownloadOptions) -> Result<Probe> {
    s.binary()?;
    let mut size = s.size(&opts.remote)?;
    let mut mtime = None;
    let mlst = job.has_feature("MLST");
    if (size.is_none() || opts.preserve_mtime) && mlst {
        if let Some(facts) = s.mlst(&opts.remote)? {
            for (k, v) in facts {
                match k.as_str() {
                    "size" if size.is_none() => size = v.parse().ok(),
                    "modify" => mtime = parse_time_val(&v),
                    _ => {}
                }
            }
        }
    }
    if opts.preserve_mtime && mtime.is_none() {
        mtime = s.mdtm(&opts.remote)?;
    }
    let mut digest = None;
    if opts.verify {
        if let Some(method) = choose_hash(&job.features, None) {
            digest = server_digest(s, &method, &opts.remote)?.map(|hex| (method, hex));
        }
    }
    Ok(Probe { size, mtime, digest })
}

/// Asks the server for its hash of `path`; None if it declines.
pub fn server_digest(s: &Session, method: &HashMethod, path: &str) -> Result<Option<String>> {
    let reply = match method {
        HashMethod::Hash { name, selected, .. } => {
            if !selected && s.cmd(&format!("OPTS HASH {name}"))?.class() != 2 {
                return Ok(None);
            }
            s.cmd(&format!("HASH {path}"))?
        }
        HashMethod::XCommand(a) => s.cmd(&format!("{} {path}", a.x_command()))?,
    };
    if reply.class() != 2 {
        return Ok(None);
    }
    Ok(parse_hash_reply(&reply.text, method.algorithm()))
}

/// Downloads `opts.remote` over `first` (and, for ranges, sibling sessions).
pub fn download(job: &Job, first: Session, opts: &DownloadOptions, sink: Sink) -> Result<Outcome> {
    let mut slot = Some(first);
    let p = job.with_retries(&mut slot, |s| probe(job, s, opts))?;
    job.progress.set_total(p.size);
    match sink {
        Sink::Stream(tx) => {
            let mut out = Out::Stream(tx);
            let mut hasher = p.digest.as_ref().map(|(m, _)| Hasher::new(m.algorithm()));
            let got = single(job, &mut slot, opts, p.size, 0, &mut out, &mut hasher)?;
            close_slot(slot);
            let checksum = check_digest(&p, hasher)?;
            Ok(Outcome { bytes: got, size: got, resumed_from: 0, connections: 1, checksum, mtime: p.mtime })
        }
        Sink::Path { target, part } => {
            let result = to_file(job, slot, opts, &p, &part);
            match result {
                Ok(mut outcome) => {
                    let file = std::fs::OpenOptions::new().write(true).open(&part).map_err(Error::Local)?;
                    if let Some(t) = p.mtime.filter(|_| opts.preserve_mtime) {
                        local::set_mtime(&file, t)?;
                    }
                    drop(file);
                    local::commit(&part, &target)?;
                    outcome.mtime = p.mtime;
                    Ok(outcome)
                }
                Err(e @ Error::Verify(_)) => {
                    // The bytes are wrong: nothing to resume from.
                    let _ = std::fs::remove_file(&part);
                    local::remove_state(&part);
                    Err(e)
                }
                Err(e) => Err(e),
            }
        }
    }
}

fn close_slot(slot: Option<Session>) {
    if let Some(s) = slot {
        s.close();
    }
}

fn check_digest(p: &Probe, hasher: Option<Hasher>) -> Result<Option<(String, String)>> {
    let (Some((method, expected)), Some(h)) = (&p.digest, hasher) else {
        return Ok(None);
    };
    let got = h.hex();
    let name = method.algorithm().name().to_owned();
    if &got != expected {
        return Err(Error::Verify(format!(
            "{name} mismatch: the server says {expected}, the bytes received hash to {got}"
        )));
    }
    Ok(Some((name, got)))
}

fn check_size(expected: Option<u64>, got: u64) -> Result<()> {
    match expected {
        Some(n) if n != got => {
            Err(Error::Verify(format!("size mismatch: the server said {n} bytes, the transfer completed with {got}")))
        }
        _ => Ok(()),
    }
}

fn to_file(job: &Job, mut slot: Option<Session>, opts: &DownloadOptions, p: &Probe, part: &Path) -> Result<Outcome> {
    let existing = if opts.resume { std::fs::metadata(part).ok().map(|m| m.len()) } else { None };
    // A state file means the .part has holes: only the recorded ranges are missing.
    let recorded = match (existing, p.size) {
        (Some(_), Some(size)) => local::read_state(part).and_then(|t| ranges::parse_state(&t, size)),
        _ => None,
    };
    let has_rest = job.has_feature("REST") || job.features.is_empty();
    let multi_ok = p.size.is_some() && has_rest;
    if let (Some(todo), Some(size)) = (recorded, p.size) {
        let file = local::open_part(part, false)?;
        file.set_len(size).map_err(Error::Local)?;
        let missing: u64 = todo.iter().map(Range::len).sum();
        let resumed = size - missing;
        job.progress.set_done(resumed);
        let n = if multi_ok { opts.connections.max(1) } else { 1 };
        return ranged(job, slot, opts, &file, part, size, todo, n, resumed, p);
    }
    // No usable state file: whatever the .part holds is one prefix.
    local::remove_state(part);
    let mut offset = existing.unwrap_or(0);
    if let Some(size) = p.size {
        if offset > size {
            offset = 0;
        }
    }
    let file = local::open_part(part, offset == 0)?;
    if let (Some(size), true) = (p.size, opts.connections > 1 && multi_ok) {
        if size - offset >= 2 * opts.min_range {
            let todo = vec![Range { start: offset, end: size }];
            local::write_state(part, &ranges::format_state(size, &todo))?;
            file.set_len(size).map_err(Error::Local)?;
            job.progress.set_done(offset);
            return ranged(job, slot, opts, &file, part, size, todo, opts.connections, offset, p);
        }
    }
    file.set_len(offset).map_err(Error::Local)?;
    let mut hasher = p.digest.as_ref().map(|(m, _)| Hasher::new(m.algorithm()));
    if let Some(h) = hasher.as_mut() {
        hash_prefix(&file, offset, h, &job.cancel)?;
    }
    job.progress.set_done(offset);
    let mut f = file;
    f.seek(SeekFrom::Start(offset)).map_err(Error::Local)?;
    let mut out = Out::File(f);
    let got = if p.size == Some(offset) && offset > 0 {
        0
    } else {
        single(job, &mut slot, opts, p.size, offset, &mut out, &mut hasher)?
    };
    close_slot(slot);
    let checksum = check_digest(p, hasher)?;
    Ok(Outcome { bytes: got, size: offset + got, resumed_from: offset, connections: 1, checksum, mtime: None })
}

enum Out {
    File(File),
    Stream(SyncSender<Vec<u8>>),
}

impl Out {
    fn write(&mut self, data: &[u8]) -> Result<()> {
        match self {
            Out::File(f) => f.write_all(data).map_err(Error::Local),
            Out::Stream(tx) => tx.send(data.to_vec()).map_err(|_| Error::Cancelled),
        }
    }
}

/// One RETR stream from `offset` to the end, continued after failures.
/// Returns the number of bytes received.
fn single(
    job: &Job,
    slot: &mut Option<Session>,
    opts: &DownloadOptions,
    size: Option<u64>,
    start: u64,
    out: &mut Out,
    hasher: &mut Option<Hasher>,
) -> Result<u64> {
    let mut offset = start;
    let mut expected = size;
    let mut buf = vec![0u8; opts.blocksize.max(1)];
    let chunk = job.read_size(buf.len());
    let cmd = format!("RETR {}", opts.remote);
    job.with_retries(slot, |s| {
        s.binary()?;
        let rest = (offset > 0).then_some(offset);
        let (data, announced) = s.open_data(&cmd, rest)?;
        if expected.is_none() && offset == 0 {
            expected = announced;
            job.progress.set_total(expected);
        }
        loop {
            let n = data.read(&mut buf[..chunk])?;
            if n == 0 {
                break;
            }
            if let Some(total) = expected {
                if offset + n as u64 > total {
                    return Err(Error::Verify(format!("size mismatch: the server said {total} bytes and sent more")));
                }
            }
            out.write(&buf[..n])?;
            if let Some(h) = hasher.as_mut() {
                h.update(&buf[..n]);
            }
            offset += n as u64;
            job.account(n)?;
        }
        s.finish(data)?;
        check_size(expected, offset)
    })?;
    Ok(offset - start)
}

/// N workers taking ranges from a queue, each over its own session; the
/// first uses the caller's session, the others log in anew and drop out
/// when the server refuses them (421/530).
#[allow(clippy::too_many_arguments)]
fn ranged(
    job: &Job,
    first: Option<Session>,
    opts: &DownloadOptions,
    file: &File,
    part: &Path,
    size: u64,
    todo: Vec<Range>,
    n: usize,
    resumed: u64,
    p: &Probe,
) -> Result<Outcome> {
    let queue: Mutex<VecDeque<Range>> = Mutex::new(ranges::spread(&todo, n, opts.min_range).into());
    let failure: Mutex<Option<Error>> = Mutex::new(None);
    let used = AtomicUsize::new(0);
    let workers = n.min(queue.lock().unwrap().len()).max(1);
    let cmd = format!("RETR {}", opts.remote);
    let mut first = first;
    std::thread::scope(|scope| {
        for i in 0..workers {
            let initial = if i == 0 { first.take() } else { None };
            let (queue, failure, used, cmd) = (&queue, &failure, &used, &cmd);
            scope.spawn(move || {
                let mut slot = match initial {
                    Some(s) => Some(s),
                    None => match Session::open(&job.spec, &job.cancel) {
                        Ok(s) => Some(s),
                        // Refused, or failing to connect: the others carry on.
                        Err(_) => return,
                    },
                };
                used.fetch_add(1, Ordering::SeqCst);
                let mut buf = vec![0u8; opts.blocksize.clamp(1, 4 << 20)];
                let chunk = job.read_size(buf.len());
                loop {
                    let Some(range) = queue.lock().unwrap().pop_front() else { break };
                    let mut pos = range.start;
                    let r = job.with_retries(&mut slot, |s| {
                        fetch_range(job, s, cmd, &mut pos, range.end, size, file, &mut buf[..chunk])
                    });
                    if let Err(e) = r {
                        queue.lock().unwrap().push_front(Range { start: pos, end: range.end });
                        let mut f = failure.lock().unwrap();
                        if f.is_none() && !matches!(e, Error::Cancelled) {
                            *f = Some(e);
                        }
                        job.cancel.cancel();
                        break;
                    }
                }
                close_slot(slot);
            });
        }
    });
    let missing: Vec<Range> = queue.into_inner().unwrap().into_iter().collect();
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
    Ok(Outcome { bytes: size - resumed, size, resumed_from: resumed, connections, checksum, mtime: None })
}

/// One range: REST, then exactly its bytes written in place; then the rest
/// of the file is refused (ABOR) unless the range runs to the end.
#[allow(clippy::too_many_arguments)]
fn fetch_range(
    job: &Job,
    s: &mut Session,
    cmd: &str,
    pos: &mut u64,
    end: u64,
    size: u64,
    file: &File,
    buf: &mut [u8],
) -> Result<()> {
    if *pos >= end {
        return Ok(());
    }
    s.binary()?;
    let (data, _) = s.open_data(cmd, (*pos > 0).then_some(*pos))?;
    while *pos < end {
        let want = buf.len().min((end - *pos) as usize);
        let n = data.read(&mut buf[..want])?;
        if n == 0 {
            // Early end: a complete transfer (2xx) means the file is shorter than SIZE said.
            s.finish(data)?;
            return Err(Error::Verify(format!("size mismatch: the server said {size} bytes, the file ended at {pos}")));
        }
        // The .part was grown with set_len and this region never written:
        // zeros are already there, and skipping them keeps sparse files sparse.
        if !is_zero(&buf[..n]) {
            file.write_all_at(&buf[..n], *pos).map_err(Error::Local)?;
        }
        *pos += n as u64;
        job.account(n)?;
    }
    if end == size {
        let n = data.read(&mut buf[..1])?;
        if n > 0 {
            return Err(Error::Verify(format!("size mismatch: the server said {size} bytes and sent more")));
        }
        s.finish(data)?;
    } else {
        s.abandon(data)?;
    }
    Ok(())
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
}
