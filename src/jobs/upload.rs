//! Whole-file uploads: resume (SIZE, then REST+STOR or APPE), atomic
//! replacement (STOR to a temporary name, then RNFR/RNTO), verification by
//! SIZE and the server's hash, retries, and the modification time.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::mpsc::Receiver;

use crate::proto::feat::choose_hash;

use super::download::{server_digest, Job, Outcome};
use super::error::{Error, Result};
use super::hash::{hash_prefix, Hasher};
use super::session::{check, format_time_val, Data, Session};

pub struct UploadOptions {
    pub remote: String,
    pub resume: bool,
    pub atomic: bool,
    pub verify: bool,
    /// The modification time to give the remote file (Unix seconds).
    pub mtime: Option<i64>,
    pub blocksize: usize,
    /// Send from the file with sendfile (true) or write() from a buffer
    /// (false); None: sendfile, except to a server on this host.
    pub sendfile: Option<bool>,
}

/// Where the bytes come from.
pub enum Source {
    /// A local file (resumable, retryable).
    File(File),
    /// Blocks from the caller (a Python file object), in order; an empty
    /// block ends the data.
    Stream(Receiver<Vec<u8>>),
}

/// The temporary name of an atomic upload: hidden, beside the target, and
/// the same every time so that an interrupted atomic upload can resume.
pub fn temp_name(remote: &str) -> String {
    match remote.rfind('/') {
        Some(i) => format!("{}/.{}.rftplib-part", &remote[..i], &remote[i + 1..]),
        None => format!(".{remote}.rftplib-part"),
    }
}

pub fn upload(job: &Job, first: Session, opts: &UploadOptions, mut source: Source) -> Result<Outcome> {
    let mut slot = Some(first);
    let dest = if opts.atomic { temp_name(&opts.remote) } else { opts.remote.clone() };
    let local_size = match &source {
        Source::File(f) => Some(f.metadata().map_err(Error::Local)?.len()),
        Source::Stream(_) => None,
    };
    job.progress.set_total(local_size);
    let method = if opts.verify { choose_hash(&job.features, None) } else { None };
    let has_rest = job.has_feature("REST") || job.features.is_empty();
    let mut hasher = method.as_ref().map(|m| Hasher::new(m.algorithm()));
    let mut hashed = 0u64;
    let mut resumed_from = None;
    let mut sent_total = 0u64;
    let mut attempt = 0u32;
    let mut buf = vec![0u8; job.rate.as_ref().map_or(opts.blocksize, |r| r.chunk().min(opts.blocksize)).max(1)];
    job.with_retries(&mut slot, |s| {
        attempt += 1;
        s.binary()?;
        match &mut source {
            Source::File(file) => {
                let size = local_size.unwrap_or(0);
                // Where to start: after a failure, whatever the server kept.
                let mut offset = 0;
                if opts.resume || attempt > 1 {
                    offset =
                        s.size(&dest).or_else(|e| if e.code() == Some(550) { Ok(None) } else { Err(e) })?.unwrap_or(0);
                    if offset > size {
                        offset = 0;
                    }
                }
                resumed_from.get_or_insert(offset);
                if let Some(h) = hasher.as_mut() {
                    if hashed != offset {
                        let mut fresh = Hasher::new(method.as_ref().expect("hasher implies method").algorithm());
                        hash_prefix(file, offset, &mut fresh, &job.cancel)?;
                        *h = fresh;
                        hashed = offset;
                    }
                }
                job.progress.set_done(offset);
                let data = open_store(s, &dest, offset, has_rest)?;
                let mut at = offset;
                // Without hashing, a plain connection sends straight from the
                // file, except to a server on this host: over loopback what
                // sendfile queues costs the receiving server more CPU per byte
                // than what write() queues (vsftpd: ~1.0 against ~0.65 CPU-s
                // per GiB), and the server is what bounds an upload there
                // (benches/bench_transfers.py, put).
                if hasher.is_none() && opts.sendfile.unwrap_or_else(|| !data.peer_is_this_host()) {
                    while at < size {
                        let step = if job.rate.is_some() { buf.len() } else { buf.len().max(1 << 20) };
                        let want = step.min((size - at) as usize);
                        let Some(n) = data.send_file(file, at, want)? else { break };
                        if n == 0 {
                            break;
                        }
                        at += n as u64;
                        sent_total += n as u64;
                        job.account(n)?;
                    }
                }
                loop {
                    let n = file.read_at(&mut buf, at).map_err(Error::Local)?;
                    if n == 0 {
                        break;
                    }
                    data.write_all(&buf[..n])?;
                    if let Some(h) = hasher.as_mut() {
                        h.update(&buf[..n]);
                    }
                    at += n as u64;
                    hashed = at;
                    sent_total += n as u64;
                    job.account(n)?;
                }
                s.finish(data)?;
                Ok(())
            }
            Source::Stream(rx) => {
                if attempt > 1 {
                    return Err(Error::Unsupported("an upload from a file object cannot be retried".into()));
                }
                resumed_from = Some(0);
                let data = open_store(s, &dest, 0, has_rest)?;
                loop {
                    let block = recv_block(rx, &job.cancel)?;
                    if block.is_empty() {
                        break;
                    }
                    data.write_all(&block)?;
                    if let Some(h) = hasher.as_mut() {
                        h.update(&block);
                    }
                    sent_total += block.len() as u64;
                    job.account(block.len())?;
                }
                s.finish(data)?;
                Ok(())
            }
        }
    })?;
    let mut s = slot.expect("a successful attempt leaves its session");
    let resumed = resumed_from.unwrap_or(0);
    let total = match local_size {
        Some(n) => n,
        None => sent_total,
    };
    let verified = (|| {
        if opts.verify {
            if let Some(remote_size) =
                s.size(&dest).or_else(|e| if e.code() == Some(550) { Ok(None) } else { Err(e) })?
            {
                if remote_size != total {
                    return Err(Error::Verify(format!(
                        "size mismatch: {total} bytes sent, the server has {remote_size}"
                    )));
                }
            }
        }
        let mut checksum = None;
        if let (Some(m), Some(h)) = (&method, hasher.take()) {
            let local = h.hex();
            if let Some(remote) = server_digest(&s, m, &dest)? {
                let name = m.algorithm().name().to_owned();
                if remote != local {
                    return Err(Error::Verify(format!(
                        "{name} mismatch: the server has {remote}, the bytes sent hash to {local}"
                    )));
                }
                checksum = Some((name, local));
            }
        }
        Ok(checksum)
    })();
    let checksum = match verified {
        Ok(c) => c,
        Err(e) => {
            if matches!(e, Error::Verify(_)) && opts.atomic {
                let _ = s.cmd(&format!("DELE {dest}"));
            }
            s.settle();
            return Err(e);
        }
    };
    if opts.atomic {
        if let Err(e) = rename(&s, &dest, &opts.remote) {
            if !matches!(e.code(), Some(550 | 553)) {
                return Err(e);
            }
            // Servers that will not rename onto an existing file (IIS):
            // remove it first, the shortest window they allow.
            check(s.cmd(&format!("DELE {}", opts.remote))?, 2)?;
            rename(&s, &dest, &opts.remote)?;
        }
    }
    if let Some(t) = opts.mtime {
        set_remote_mtime(&mut s, job, &opts.remote, t)?;
    }
    s.close();
    Ok(Outcome {
        bytes: sent_total,
        size: total,
        resumed_from: resumed,
        connections: 1,
        checksum,
        mtime: opts.mtime,
        features: None,
    })
}

fn rename(s: &Session, from: &str, to: &str) -> Result<()> {
    check(s.cmd(&format!("RNFR {from}"))?, 3)?;
    check(s.cmd(&format!("RNTO {to}"))?, 2).map(drop)
}

/// STOR from `offset` (REST first), or APPE where the server refuses REST
/// before STOR.
fn open_store(s: &Session, dest: &str, offset: u64, has_rest: bool) -> Result<Data> {
    if offset == 0 {
        return Ok(s.open_data(&format!("STOR {dest}"), None)?.0);
    }
    if has_rest {
        match s.open_data(&format!("STOR {dest}"), Some(offset)) {
            Ok((d, _)) => return Ok(d),
            Err(e) if matches!(e.code(), Some(500..=599)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(s.open_data(&format!("APPE {dest}"), None)?.0)
}

fn recv_block(rx: &Receiver<Vec<u8>>, cancel: &super::cancel::Cancel) -> Result<Vec<u8>> {
    loop {
        cancel.check()?;
        match rx.recv_timeout(std::time::Duration::from_millis(50)) {
            Ok(b) => return Ok(b),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => continue,
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return Err(Error::Cancelled),
        }
    }
}

/// MFMT where FEAT offers it, else SITE UTIME; quietly nothing when the
/// server has neither.
fn set_remote_mtime(s: &mut Session, job: &Job, remote: &str, t: i64) -> Result<()> {
    let stamp = format_time_val(t);
    let mfmt = job.has_feature("MFMT") || job.features.is_empty();
    if mfmt && s.cmd(&format!("MFMT {stamp} {remote}"))?.class() == 2 {
        return Ok(());
    }
    let _ = s.cmd(&format!("SITE UTIME {remote} {stamp}"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_names_stay_in_the_directory() {
        assert_eq!(temp_name("a.bin"), ".a.bin.rftplib-part");
        assert_eq!(temp_name("d/e/a.bin"), "d/e/.a.bin.rftplib-part");
        assert_eq!(temp_name("/abs/a"), "/abs/.a.rftplib-part");
    }
}
