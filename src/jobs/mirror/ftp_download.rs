//! One file's download on a mirror session ([`FtpRemote`]): the request
//! (sent ahead of time when the previous file allowed it), the data into a
//! `.part` file, the checks, the rename; and the next file's request as
//! early as the server allows.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;

use crate::jobs::hash::{hash_prefix, Hasher};
use crate::jobs::local::{commit, part_path};
use crate::jobs::session::{Data, Session};
use crate::jobs::Error;
use crate::proto::feat::{parse_hash_reply, HashMethod};

use super::ftp::{job_error, local_err, out_of_step, FtpRemote, Pending, BLOCK};
use super::plan::Node;
use super::remote::{Fault, JobError, Next, OnBytes};

/// Where a download of `local` starts: the length of its `.part` when that
/// is shorter than the file, else 0 (start over).
fn resume_offset(local: &Path, expect: &Node) -> u64 {
    let have = std::fs::metadata(part_path(local)).map(|m| m.len()).unwrap_or(0);
    match expect.size {
        Some(size) if have < size => have,
        _ => 0,
    }
}

/// The commands of a passive RETR request (PASV, REST when resuming, RETR).
pub(super) fn request_lines(offset: u64) -> usize {
    2 + usize::from(offset > 0)
}

impl FtpRemote {
    /// The request for `n` (its hash command, PASV, REST, RETR), and what it
    /// leaves out.
    fn next_request(&self, n: &Next<'_>) -> (Vec<String>, String, Option<u64>, Pending) {
        let offset = resume_offset(n.local, n.expect);
        let before: Vec<String> = self.features.hash_command(n.remote).into_iter().collect();
        let pending = Pending::Retr { remote: n.remote.to_owned(), offset, hashed: !before.is_empty() };
        (before, format!("RETR {}", n.remote), (offset > 0).then_some(offset), pending)
    }

    pub(super) fn download_inner(
        &mut self,
        remote: &str,
        local: &Path,
        expect: &Node,
        next: Option<Next<'_>>,
        on_bytes: OnBytes<'_>,
    ) -> Result<u64, JobError> {
        let part = part_path(local);
        let (offset, requested, hashed) = match self.prefetched.take() {
            Some(Pending::Retr { remote: r, offset, hashed }) if r == remote => (offset, true, hashed),
            // Cannot happen with the run's workers; the session is out of step.
            Some(_) => return Err(out_of_step()),
            None => (resume_offset(local, expect), false, false),
        };
        let cmd = format!("RETR {remote}");
        let rest = (offset > 0).then_some(offset);
        if requested {
            // The end of an earlier transfer whose data connection was
            // dropped with this request already out comes first.
            let s = &self.session;
            while s.owed() > request_lines(offset) + usize::from(hashed) {
                s.final_reply().map_err(job_error)?;
            }
        } else {
            // (A session with a request out selected its hash before.)
            self.select_hash()?;
        }
        // On a server that queues commands behind a transfer, the next
        // file's request goes out as soon as this file's data connection is
        // up: the server answers it the moment this transfer ends.
        let mut ahead =
            next.filter(|_| self.features.sequential && self.session.is_passive()).map(|n| self.next_request(&n));
        let s = &mut self.session;
        s.binary().map_err(job_error)?;
        let hashed = if requested {
            hashed
        } else {
            let before: Vec<String> = self.features.hash_command(remote).into_iter().collect();
            s.request_data_after(&before, &cmd, rest).map_err(job_error)?;
            !before.is_empty()
        };
        // The server's hash, asked in the same write as the transfer.
        let mut expected_hash = None;
        if hashed {
            let r = s.reply().map_err(job_error)?;
            if r.class() == 2 {
                let algorithm = self.features.hash.as_ref().map(HashMethod::algorithm);
                expected_hash = algorithm.and_then(|a| parse_hash_reply(&r.text, a).map(|hex| (a, hex)));
            }
        }
        // Opened only now, so that a refused RETR leaves no empty `.part`.
        let mut sent = None;
        let opened = s.open_requested_data_then(&cmd, rest, &mut |s| {
            if let Some((before, cmd, rest, pending)) = ahead.take() {
                s.request_data_after(&before, &cmd, rest)?;
                sent = Some(pending);
            }
            Ok(())
        });
        // With the next request out, a transfer stopped early is not
        // aborted (ABOR would be read only after that request, which waits
        // for its data connection): its data connection is dropped, and the
        // end of the transfer read by whoever uses the session next.
        let queued = sent.is_some();
        self.prefetched = sent;
        let abandon = |s: &Session, data: Data| {
            if queued {
                drop(data);
            } else {
                let _ = s.abandon(data);
            }
        };
        let s = &mut self.session;
        let (data, _) = opened.map_err(job_error)?;
        let mut file = match OpenOptions::new().read(true).write(true).create(true).truncate(offset == 0).open(&part) {
            Ok(f) => f,
            Err(e) => {
                abandon(s, data);
                return Err(local_err(e));
            }
        };
        if offset > 0 {
            let sought =
                file.set_len(offset).and_then(|()| std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(offset)));
            if let Err(e) = sought {
                abandon(s, data);
                return Err(local_err(e));
            }
        }
        let mut hasher = expected_hash.as_ref().map(|(a, _)| Hasher::new(*a));
        if let Some(h) = hasher.as_mut().filter(|_| offset > 0) {
            if let Err(e) = hash_prefix(&file, offset, h, s.cancel()) {
                abandon(s, data);
                return Err(job_error(e));
            }
        }
        let mut got = 0u64;
        let mut buf = vec![0u8; BLOCK];
        let stopped = loop {
            let n = match data.read(&mut buf) {
                Ok(n) => n,
                Err(e) => {
                    let _ = file.flush();
                    if !matches!(e, Error::Cancelled) {
                        abandon(s, data);
                    }
                    return Err(job_error(e));
                }
            };
            if n == 0 {
                break false;
            }
            if let Err(e) = file.write_all(&buf[..n]) {
                abandon(s, data);
                return Err(local_err(e));
            }
            if let Some(h) = hasher.as_mut() {
                h.update(&buf[..n]);
            }
            got += n as u64;
            if !on_bytes(offset + got) {
                break true;
            }
        };
        if stopped {
            abandon(s, data);
            return Err(JobError::stopped());
        }
        // All the data is in: ask for the next file now, so that the server
        // reads the request as soon as it has confirmed this one (vsftpd
        // waits for the last data to be acknowledged first, a round trip).
        let complete = expect.size.is_none_or(|size| size == offset + got);
        if let Some(n) = next.filter(|_| complete && !queued && s.is_passive()) {
            let (before, cmd, rest, pending) = self.next_request(&n);
            let s = &mut self.session;
            s.request_data_after(&before, &cmd, rest).map_err(job_error)?;
            self.prefetched = Some(pending);
        }
        let s = &mut self.session;
        if let Err(e) = s.finish(data) {
            // With a request out, a session is only good for that request.
            let mut e = job_error(e);
            if self.prefetched.is_some() && e.fault == Fault::Permanent {
                e.fault = Fault::Transient;
            }
            return Err(e);
        }
        let len = offset + got;
        if self.verify {
            let mismatch = match (expect.size, hasher, &expected_hash) {
                (Some(size), _, _) if size != len => {
                    Some(format!("size mismatch: the listing said {size} bytes, the transfer completed with {len}"))
                }
                (_, Some(h), Some((a, want))) => {
                    let got = h.hex();
                    (&got != want).then(|| {
                        format!("{} mismatch: the server says {want}, the bytes received hash to {got}", a.name())
                    })
                }
                _ => None,
            };
            if let Some(msg) = mismatch {
                // The bytes are wrong: nothing to resume from.
                drop(file);
                let _ = std::fs::remove_file(&part);
                let mut e = job_error(Error::Verify(msg));
                e.fault = Fault::Transient;
                return Err(e);
            }
        }
        drop(file);
        if let Some(t) = expect.mtime {
            super::local::set_mtime(&part, t).map_err(local_err)?;
        }
        commit(&part, local).map_err(job_error)?;
        Ok(got)
    }
}
