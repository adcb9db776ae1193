//! Whole-file downloads: probe (SIZE, MLST/MDTM, the server's hash), then
//! one stream or N ranges written in place, with retries that reconnect and
//! continue from the last byte, verification, and the final rename.

use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::SyncSender;
use std::sync::Arc;

use crate::proto::address::parse257;
use crate::proto::feat::{choose_hash, parse_feat, parse_hash_reply, HashMethod};

use super::error::{Error, Result};
use super::hash::{hash_prefix, Hasher};
use super::local;
use super::parallel::{ranged, Later, Openers};
use super::ranges::{self, Range};
use super::session::{check, parse_time_val, size_of_reply, Session};
use super::splice::{Pipe, PIPE_SIZE};

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
    /// FEAT is not known yet: ask it with the first commands (and report
    /// it in the outcome, for the caller to keep).
    pub ask_feat: bool,
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
    /// FEAT, when the job asked for it (`DownloadOptions::ask_feat`).
    pub features: Option<Vec<(String, String)>>,
}

/// What the server told about the file before the transfer.
pub struct Probe {
    pub size: Option<u64>,
    pub mtime: Option<i64>,
    /// The server's digest: (method, hex).
    pub digest: Option<(HashMethod, String)>,
}

/// What a probe learnt besides the file: the caller's directory (PWD), for
/// sibling sessions to start in, and FEAT when it was not known.
struct Learnt {
    cwd: Option<String>,
    features: Option<Vec<(String, String)>>,
    /// FEAT was answered (2xx): worth keeping for the session.
    feat_answered: bool,
}

/// What the server says about the file; with `learn_cwd`, also the
/// session's directory, and with `opts.ask_feat` its FEAT. FEAT, PWD,
/// TYPE I and SIZE go out in one write.
fn probe(
    job: &Job,
    s: &mut Session,
    opts: &DownloadOptions,
    learn_cwd: bool,
    lost: Option<&str>,
) -> Result<(Probe, Learnt)> {
    if learn_cwd && s.is_owned() {
        // The caller's session was lost: where it was is no longer known,
        // and why it was lost is the answer.
        let why = lost.unwrap_or("the connection was lost");
        return Err(Error::Unsupported(format!("{why} (before the current directory was known)")));
    }
    let type_i = !s.is_binary();
    let mut lines = Vec::with_capacity(4);
    if opts.ask_feat {
        lines.push("FEAT".to_owned());
    }
    if learn_cwd {
        lines.push("PWD".to_owned());
    }
    if type_i {
        lines.push("TYPE I".to_owned());
    }
    lines.push(format!("SIZE {}", opts.remote));
    let mut replies = s.batch(&lines)?.into_iter();
    let mut next = || replies.next().ok_or(Error::Eof);
    let mut learnt = Learnt { cwd: None, features: None, feat_answered: false };
    if opts.ask_feat {
        let r = next()?;
        // A server without FEAT (500/502) has no extensions to use.
        learnt.feat_answered = r.class() == 2;
        learnt.features = Some(if learnt.feat_answered { parse_feat(&r.text) } else { Vec::new() });
    }
    if learn_cwd {
        let r = check(next()?, 2)?;
        learnt.cwd = Some(parse257(&r.text).map_err(|_| Error::Proto(r.text))?);
    }
    if type_i {
        check(next()?, 2)?;
    }
    let mut size = size_of_reply(next()?)?;
    let features = learnt.features.as_ref().unwrap_or(&job.features);
    let has_feature = |name: &str| features.iter().any(|(n, _)| n == name);
    let mut mtime = None;
    if (size.is_none() || opts.preserve_mtime) && has_feature("MLST") {
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
        if let Some(method) = choose_hash(features, None) {
            digest = server_digest(s, &method, &opts.remote)?.map(|hex| (method, hex));
        }
    }
    Ok((Probe { size, mtime, digest }, learnt))
}

/// Asks the server for its hash of `path`; None if it declines.
pub fn server_digest(s: &Session, method: &HashMethod, path: &str) -> Result<Option<String>> {
    let reply = match method {
        HashMethod::Hash { name, .. } => {
            // Always selected anew: FEAT's mark may be stale (checksum() or
            // another job may have selected another algorithm since).
            if s.cmd(&format!("OPTS HASH {name}"))?.class() != 2 {
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
/// When `job.spec.cwd` is not known yet (and sessions can be opened), it is
/// learnt on `first` and recorded in the job.
pub fn download(job: &mut Job, first: Session, opts: &DownloadOptions, sink: Sink) -> Result<Outcome> {
    let mut slot = Some(first);
    let learn_cwd = job.spec.cwd.is_none() && job.spec.credentials.is_some();
    let cwd = Arc::new(Later::default());
    if !learn_cwd {
        cwd.set(Ok(job.spec.cwd.clone()));
    }
    // Sibling sessions log in while the first one probes the file (and
    // learns the directory they change to): a login's worth of round trips
    // saved on a distant server.
    let ahead = matches!(sink, Sink::Path { .. }) && opts.connections > 1 && job.spec.credentials.is_some();
    let openers = if ahead { Openers::start(job, opts.connections - 1, cwd.clone()) } else { Openers::none(job) };
    let feat_answered;
    let mut lost: Option<String> = None;
    let probed = job.with_retries(&mut slot, |s| {
        let r = probe(job, s, opts, learn_cwd, lost.as_deref());
        if let Err(e) = &r {
            lost.get_or_insert_with(|| e.to_string());
        }
        r
    });
    let p = match probed {
        Ok((p, learnt)) => {
            if learn_cwd {
                job.spec.cwd = learnt.cwd.clone();
            }
            cwd.set(Ok(learnt.cwd));
            if let Some(features) = learnt.features {
                job.features = features;
            }
            feat_answered = learnt.feat_answered;
            p
        }
        Err(e) => {
            cwd.set(Err(e.to_string()));
            openers.discard();
            return Err(e);
        }
    };
    let learnt = feat_answered.then(|| job.features.clone());
    let job = &*job;
    job.progress.set_total(p.size);
    let outcome = match sink {
        Sink::Stream(tx) => {
            let mut out = Out::Stream(tx);
            let mut hasher = p.digest.as_ref().map(|(m, _)| Hasher::new(m.algorithm()));
            openers.discard();
            let got = single(job, &mut slot, opts, p.size, 0, &mut out, &mut hasher)?;
            close_slot(slot);
            let checksum = check_digest(&p, hasher)?;
            Ok(Outcome {
                bytes: got,
                size: got,
                resumed_from: 0,
                connections: 1,
                checksum,
                mtime: p.mtime,
                features: None,
            })
        }
        Sink::Path { target, part } => {
            let result = to_file(job, slot, openers, opts, &p, &part);
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
    };
    outcome.map(|o| Outcome { features: learnt, ..o })
}

fn close_slot(slot: Option<Session>) {
    if let Some(s) = slot {
        s.close();
    }
}

pub(super) fn check_digest(p: &Probe, hasher: Option<Hasher>) -> Result<Option<(String, String)>> {
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

fn to_file(
    job: &Job,
    mut slot: Option<Session>,
    openers: Openers,
    opts: &DownloadOptions,
    p: &Probe,
    part: &Path,
) -> Result<Outcome> {
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
        return ranged(job, slot, openers, opts, &file, part, size, todo, n, resumed, p);
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
            return ranged(job, slot, openers, opts, &file, part, size, todo, opts.connections, offset, p);
        }
    }
    openers.discard();
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
    Ok(Outcome {
        bytes: got,
        size: offset + got,
        resumed_from: offset,
        connections: 1,
        checksum,
        mtime: None,
        features: None,
    })
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
    // Without hashing, a plain connection's bytes can go to the file without
    // a copy through user space.
    let pipe = match (&*hasher, &*out) {
        (None, Out::File(_)) => Pipe::new().ok(),
        _ => None,
    };
    job.with_retries(slot, |s| {
        s.binary()?;
        let rest = (offset > 0).then_some(offset);
        let (data, announced) = s.open_data(&cmd, rest)?;
        if expected.is_none() && offset == 0 {
            expected = announced;
            job.progress.set_total(expected);
        }
        if let (Some(pipe), Out::File(file)) = (&pipe, &*out) {
            let want = chunk.min(PIPE_SIZE);
            while let Some(n) = data.splice_to_pipe(pipe.write_fd(), want)? {
                if n == 0 {
                    s.finish(data)?;
                    return check_size(expected, offset);
                }
                if let Some(total) = expected {
                    if offset + n as u64 > total {
                        return Err(Error::Verify(format!(
                            "size mismatch: the server said {total} bytes and sent more"
                        )));
                    }
                }
                pipe.drain_to(file, n)?;
                offset += n as u64;
                job.account(n)?;
            }
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
