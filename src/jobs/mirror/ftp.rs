//! Mirror's [`Remote`] and the pool's [`Connector`] over real FTP sessions
//! (`jobs::session`): sessions logged in like the user's, MLSD where FEAT
//! lists it (LIST otherwise), and per-file transfers that spend as few round
//! trips as the listing allows — TYPE I once per session, no SIZE or MDTM
//! (the listing gave both), absolute paths rather than CWD. A file's
//! download is in `ftp_download.rs`.

use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::jobs::cancel::Cancel;
use crate::jobs::pool::Connector;
use crate::jobs::session::{format_time_val, Session, Spec};
use crate::jobs::upload::temp_name;
use crate::jobs::Error;
use crate::proto::feat::{choose_hash, HashMethod};
use crate::proto::listing::{parse_listing, Entry, EntryKind};

use super::ftp_download::request_lines;
use super::plan::{Kind, Node};
use super::remote::{DirOp, Fault, JobError, Next, OnBytes, Remote};

/// How much one read or write moves.
pub(super) const BLOCK: usize = 256 * 1024;

/// What the server offers, from its FEAT (names in upper case).
#[derive(Clone, Debug, Default)]
pub struct Features {
    /// How to ask the server for a file's hash, to check downloads by
    /// (`verify=True` and the server has HASH or an X command).
    pub hash: Option<HashMethod>,
    pub mlsd: bool,
    pub mfmt: bool,
    pub mlst: bool,
    /// MDTM, which vsftpd (and others without MFMT) also take with a time
    /// before the path, to set it.
    pub mdtm: bool,
    /// The server reads no command while a transfer runs, and answers the
    /// commands queued behind it only once it is done (vsftpd): the next
    /// file's request can go out as soon as this file's data connection is
    /// up. Servers that read commands during a transfer do not qualify:
    /// pyftpdlib takes a PASV then as closing the running data connection,
    /// ProFTPD answers it with 450 (unless it uses sendfile), pure-ftpd with
    /// 500.
    pub sequential: bool,
}

impl Features {
    pub fn from_names<S: AsRef<str>>(names: &[S]) -> Self {
        let has = |n: &str| names.iter().any(|x| x.as_ref().eq_ignore_ascii_case(n));
        // MLSD is announced as MLST in FEAT (RFC 3659 §7.8).
        Features {
            hash: None,
            mlsd: has("MLST") || has("MLSD"),
            mfmt: has("MFMT"),
            mlst: has("MLST"),
            mdtm: has("MDTM"),
            sequential: false,
        }
    }

    /// What the server's greeting tells: vsftpd names itself there
    /// (`220 (vsFTPd 3.0.3)`, unless `ftpd_banner` replaces it), and is
    /// the server proven to queue commands behind a transfer.
    pub fn with_greeting(self, greeting: &str) -> Self {
        let sequential = greeting.lines().next().is_some_and(|l| l.starts_with("220 (vsFTPd "));
        Features { sequential, ..self }
    }

    /// From FEAT's `(NAME, params)` pairs; a hash method only with `verify`.
    pub fn from_feat(feat: &[(String, String)], verify: bool) -> Self {
        let names: Vec<&str> = feat.iter().map(|(n, _)| n.as_str()).collect();
        let upper: Vec<(String, String)> = feat.iter().map(|(n, p)| (n.to_ascii_uppercase(), p.clone())).collect();
        Features { hash: if verify { choose_hash(&upper, None) } else { None }, ..Features::from_names(&names) }
    }

    /// The command asking for the hash of `path`.
    pub(super) fn hash_command(&self, path: &str) -> Option<String> {
        match self.hash.as_ref()? {
            HashMethod::Hash { .. } => Some(format!("HASH {path}")),
            HashMethod::XCommand(a) => Some(format!("{} {path}", a.x_command())),
        }
    }
}

/// Opens sessions like the user's (the same address, credentials, TLS and
/// PROT, and current directory).
pub struct FtpConnector {
    pub spec: Spec,
    pub cancel: Cancel,
    pub features: Features,
    pub verify: bool,
}

/// A transfer requested ahead (see [`Next`]).
#[derive(Debug)]
pub(super) enum Pending {
    /// RETR of `remote` from `offset`, after the hash command when `hashed`.
    Retr { remote: String, offset: u64, hashed: bool },
    /// STOR to the temporary name `temp`.
    Stor { temp: String },
}

/// One session, as mirror uses it.
pub struct FtpRemote {
    pub(super) session: Session,
    pub(super) features: Features,
    pub(super) verify: bool,
    /// `LIST -a` (hidden files too) until the server refuses the option.
    list_all: bool,
    /// A transfer already requested behind the previous one, whose replies
    /// the next call reads.
    pub(super) prefetched: Option<Pending>,
    /// `OPTS HASH` sent on this session (servers whose HASH default is not
    /// the algorithm chosen).
    hash_selected: bool,
}

impl FtpRemote {
    pub fn new(session: Session, features: Features, verify: bool) -> Self {
        FtpRemote { session, features, verify, list_all: true, prefetched: None, hash_selected: false }
    }
}

impl Connector for FtpConnector {
    type Session = FtpRemote;
    type Error = Error;

    fn open(&self) -> Result<FtpRemote, Error> {
        let session = Session::open(&self.spec, &self.cancel)?;
        Ok(FtpRemote::new(session, self.features.clone(), self.verify))
    }

    fn is_refusal(&self, e: &Error) -> bool {
        // 421/530, or a server that drops the extra connection before or
        // instead of its greeting (the pool only shrinks while others live).
        let dropped = match e {
            Error::Eof => true,
            Error::Net(crate::client::Error::Io(io)) => {
                matches!(io.kind(), std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::ConnectionRefused)
            }
            _ => false,
        };
        e.is_refusal() || dropped
    }

    fn check(&self, s: &mut FtpRemote) -> bool {
        s.session.cmd("NOOP").is_ok_and(|r| r.class() == 2)
    }

    fn close(&self, s: FtpRemote) {
        // A session of the job's own is ended with QUIT; the user's own
        // connection is brought back in step (or closed if it cannot be),
        // after the request it may have out.
        match s.prefetched {
            Some(Pending::Retr { remote, offset, hashed: _ }) => {
                // What is owed ahead of the request: the hash reply, and the
                // end of a transfer whose data connection was dropped.
                let before = s.session.owed().saturating_sub(request_lines(offset));
                s.session.settle_with_request(before, &format!("RETR {remote}"), (offset > 0).then_some(offset), false)
            }
            // An empty upload to the temporary name ends the request.
            Some(Pending::Stor { temp }) => s.session.settle_with_request(0, &format!("STOR {temp}"), None, true),
            // The user's connection with every reply read is in step already:
            // no NOOP round trip to prove it.
            None if !s.session.is_owned() && s.session.owed() == 0 => {}
            None => s.session.settle(),
        }
    }
}

/// A job error as mirror classifies it.
pub fn job_error(e: Error) -> JobError {
    let fault = match &e {
        Error::Cancelled => Fault::Stopped,
        e if e.is_transient() => Fault::Transient,
        Error::Verify(_) => Fault::Transient,
        _ => Fault::Permanent,
    };
    let errno = match &e {
        Error::Local(io) => io.raw_os_error(),
        _ => None,
    };
    JobError { fault, message: e.to_string(), errno }
}

pub(super) fn local_err(e: std::io::Error) -> JobError {
    e.into()
}

/// A path as an argument of LIST: one starting with `-` would be read as
/// options by servers that take `ls` options (vsftpd).
fn list_arg(path: &str) -> String {
    if path.starts_with('-') {
        format!("./{path}")
    } else {
        path.to_owned()
    }
}

/// How coarse a LIST line's time is: EPLF and MLSD give seconds, a line
/// with a time of day gives minutes, a line with a year only days.
fn list_precision(e: &Entry) -> u32 {
    let Some(raw) = &e.raw else { return 1 };
    if raw.starts_with('+') {
        return 1;
    }
    let head = match raw.rfind(e.name.as_str()) {
        Some(i) if i > 0 => &raw[..i],
        _ => raw.as_str(),
    };
    let b = head.as_bytes();
    let has_clock =
        (1..b.len().saturating_sub(1)).any(|i| b[i] == b':' && b[i - 1].is_ascii_digit() && b[i + 1].is_ascii_digit());
    if has_clock {
        60
    } else {
        86_400
    }
}

pub fn node_of(e: &Entry) -> Node {
    let kind = match e.kind {
        EntryKind::File => Kind::File,
        EntryKind::Dir => Kind::Dir,
        EntryKind::Link => Kind::Link,
        EntryKind::Other => Kind::Other,
    };
    Node { kind, size: e.size, mtime: e.modified, precision: list_precision(e) }
}

fn now_unix() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

impl FtpRemote {
    /// `OPTS HASH <algorithm>` once per session: FEAT's mark of the current
    /// algorithm may be stale (anything may have selected another since).
    pub(super) fn select_hash(&mut self) -> Result<(), JobError> {
        if let Some(HashMethod::Hash { name, .. }) = &self.features.hash {
            if !self.hash_selected {
                let r = self.session.cmd(&format!("OPTS HASH {name}")).map_err(job_error)?;
                if r.class() != 2 {
                    // Cannot select it: no hash checks on this session.
                    self.features.hash = None;
                }
                self.hash_selected = true;
            }
        }
        Ok(())
    }

    fn read_listing(&mut self, cmd: &str) -> Result<Vec<u8>, Error> {
        let s = &mut self.session;
        let (data, _) = s.open_data_pipelined(cmd, None)?;
        let mut out = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match data.read(&mut buf) {
                Ok(n) => n,
                Err(e) => {
                    let _ = s.abandon(data);
                    return Err(e);
                }
            };
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        s.finish(data)?;
        Ok(out)
    }

    fn upload_inner(
        &mut self,
        local: &Path,
        remote: &str,
        mtime: Option<i64>,
        next: Option<Next<'_>>,
        on_bytes: OnBytes<'_>,
    ) -> Result<u64, JobError> {
        let temp = temp_name(remote);
        let cmd = format!("STOR {temp}");
        let requested = match self.prefetched.take() {
            Some(Pending::Stor { temp: t }) if t == temp => true,
            Some(_) => return Err(out_of_step()),
            None => false,
        };
        let (mut file, size) = match File::open(local).and_then(|f| f.metadata().map(|m| (f, m.len()))) {
            Ok(x) => x,
            Err(e) => {
                if requested {
                    // Still out: whoever uses the session next reads it.
                    self.prefetched = Some(Pending::Stor { temp });
                }
                return Err(local_err(e));
            }
        };
        let s = &mut self.session;
        if !requested {
            s.binary().map_err(job_error)?;
            s.request_data(&cmd, None).map_err(job_error)?;
        }
        let (data, _) = s.open_requested_data(&cmd, None).map_err(job_error)?;
        let mut sent = 0u64;
        let mut buf = vec![0u8; BLOCK];
        loop {
            let n = match file.read(&mut buf) {
                Ok(n) => n,
                Err(e) => {
                    let _ = s.abandon(data);
                    return Err(local_err(e));
                }
            };
            if n == 0 {
                break;
            }
            if let Err(e) = data.write_all(&buf[..n]) {
                if !matches!(e, Error::Cancelled) {
                    let _ = s.abandon(data);
                }
                return Err(job_error(e));
            }
            sent += n as u64;
            if !on_bytes(sent) {
                let _ = s.abandon(data);
                return Err(JobError::stopped());
            }
        }
        s.finish(data).map_err(job_error)?;
        if self.verify && sent != size {
            return Err(job_error(Error::Verify(format!("{} changed while it was sent", local.display()))));
        }
        // The rename (and the time) in one round trip, the commands sent
        // together and their replies read in order; with them, the request
        // for the next file, read by the next call.
        let mut batch = vec![format!("RNFR {temp}"), format!("RNTO {remote}")];
        let set_time = mtime.filter(|_| self.features.mfmt || self.features.mdtm);
        if let Some(t) = set_time {
            let verb = if self.features.mfmt { "MFMT" } else { "MDTM" };
            batch.push(format!("{verb} {} {remote}", format_time_val(t)));
        }
        match next.filter(|_| s.is_passive()) {
            Some(n) => {
                let next_temp = temp_name(n.remote);
                s.request_data_after(&batch, &format!("STOR {next_temp}"), None).map_err(job_error)?;
                self.prefetched = Some(Pending::Stor { temp: next_temp });
            }
            None => s.send_batch(&batch).map_err(job_error)?,
        }
        let s = &mut self.session;
        let rnfr = s.reply().map_err(job_error)?;
        let rnto = s.reply().map_err(job_error)?;
        if set_time.is_some() {
            // A server that cannot set the time still has the file.
            let _ = s.reply().map_err(job_error)?;
        }
        if rnfr.class() != 3 {
            return Err(JobError::from_reply(&rnfr.text));
        }
        if rnto.class() != 2 {
            return Err(JobError::from_reply(&rnto.text));
        }
        Ok(sent)
    }
}

/// A session asked for another file than the one it requested ahead.
pub(super) fn out_of_step() -> JobError {
    JobError::transient("a different file was requested on this session")
}

impl Remote for FtpRemote {
    fn list(&mut self, dir: &str) -> Result<Vec<(String, Node)>, JobError> {
        let mlsd = self.features.mlsd;
        let data = if mlsd {
            let cmd = if dir.is_empty() { "MLSD".to_owned() } else { format!("MLSD {dir}") };
            self.read_listing(&cmd).map_err(job_error)?
        } else {
            let arg = list_arg(dir);
            let plain = if arg.is_empty() { "LIST".to_owned() } else { format!("LIST {arg}") };
            if self.list_all {
                let all = if arg.is_empty() { "LIST -a".to_owned() } else { format!("LIST -a {arg}") };
                match self.read_listing(&all) {
                    Ok(d) => d,
                    // Servers without `ls` options refuse it (500-504) or take
                    // "-a dir" for a path that does not exist (550, pyftpdlib).
                    Err(e) if matches!(e.code(), Some(500..=504 | 550)) => {
                        let data = self.read_listing(&plain).map_err(job_error)?;
                        self.list_all = false;
                        data
                    }
                    Err(e) => return Err(job_error(e)),
                }
            } else {
                self.read_listing(&plain).map_err(job_error)?
            }
        };
        let now = now_unix();
        Ok(parse_listing(&data, mlsd, now)
            .into_iter()
            .filter(|e| !e.name.is_empty() && !e.name.contains('/') && e.name != "." && e.name != "..")
            .map(|e| {
                let node = node_of(&e);
                (e.name, node)
            })
            .collect())
    }

    fn download(
        &mut self,
        remote: &str,
        local: &Path,
        expect: &Node,
        next: Option<Next<'_>>,
        on_bytes: OnBytes<'_>,
    ) -> Result<u64, JobError> {
        self.download_inner(remote, local, expect, next, on_bytes)
    }

    fn is_clean(&self) -> bool {
        self.prefetched.is_none()
    }

    fn upload(
        &mut self,
        local: &Path,
        remote: &str,
        mtime: Option<i64>,
        next: Option<Next<'_>>,
        on_bytes: OnBytes<'_>,
    ) -> Result<u64, JobError> {
        self.upload_inner(local, remote, mtime, next, on_bytes)
    }

    fn is_dir(&mut self, path: &str) -> Result<bool, JobError> {
        let s = &mut self.session;
        if self.features.mlst {
            let facts = s.mlst(path).map_err(job_error)?;
            return Ok(facts.is_some_and(|f| f.iter().any(|(k, v)| k == "type" && v.eq_ignore_ascii_case("dir"))));
        }
        let here = s.pwd().map_err(job_error)?;
        let r = s.cmd(&format!("CWD {path}")).map_err(job_error)?;
        if r.class() != 2 {
            return Ok(false);
        }
        s.expect(&format!("CWD {here}"), 2).map_err(job_error)?;
        Ok(true)
    }

    fn batch(&mut self, ops: &[DirOp]) -> Result<Vec<Result<(), JobError>>, JobError> {
        let lines: Vec<String> = ops
            .iter()
            .map(|op| match op {
                DirOp::Mkdir(p) => format!("MKD {p}"),
                DirOp::Remove { path, dir: true } => format!("RMD {path}"),
                DirOp::Remove { path, dir: false } => format!("DELE {path}"),
            })
            .collect();
        let s = &mut self.session;
        s.send_batch(&lines).map_err(job_error)?;
        let mut out = Vec::with_capacity(lines.len());
        for _ in &lines {
            let r = s.reply().map_err(job_error)?;
            out.push(if r.class() == 2 { Ok(()) } else { Err(JobError::from_reply(&r.text)) });
        }
        Ok(out)
    }

    fn mkdir(&mut self, dir: &str) -> Result<(), JobError> {
        let r = self.session.cmd(&format!("MKD {dir}")).map_err(job_error)?;
        if r.class() == 2 {
            Ok(())
        } else {
            Err(JobError::from_reply(&r.text))
        }
    }

    fn remove(&mut self, path: &str, dir: bool) -> Result<(), JobError> {
        let cmd = if dir { "RMD" } else { "DELE" };
        let r = self.session.cmd(&format!("{cmd} {path}")).map_err(job_error)?;
        if r.class() == 2 {
            Ok(())
        } else {
            Err(JobError::from_reply(&r.text))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::listing::parse_list_line;

    #[test]
    fn precision_of_list_lines() {
        let now = 1_795_000_000;
        let recent = parse_list_line("-rw-r--r--    1 0 0 5 Nov 10 12:34 a 10:20 b", now).unwrap();
        assert_eq!(list_precision(&recent), 60);
        let old = parse_list_line("-rw-r--r--    1 0 0 5 Nov 10  2019 12:34", now).unwrap();
        assert_eq!(list_precision(&old), 86_400);
        let dos = parse_list_line("02-29-24  03:04PM   12 x", now).unwrap();
        assert_eq!(list_precision(&dos), 60);
        let mut mlsd = Entry::new("x", EntryKind::File);
        mlsd.modified = Some(5);
        assert_eq!(list_precision(&mlsd), 1);
    }

    #[test]
    fn list_arguments_never_look_like_options() {
        assert_eq!(list_arg("-rf"), "./-rf");
        assert_eq!(list_arg("/srv/-rf"), "/srv/-rf");
        assert_eq!(list_arg(""), "");
    }

    #[test]
    fn only_vsftpd_queues_commands_behind_transfers() {
        let seq = |g: &str| Features::default().with_greeting(g).sequential;
        assert!(seq("220 (vsFTPd 3.0.3)"));
        assert!(!seq("220 pyftpdlib 1.5.9 ready."));
        assert!(!seq("220 ProFTPD Server (rftplib test) [127.0.0.1]"));
        assert!(!seq("220---------- Welcome to Pure-FTPd [privsep] [TLS] ----------\n220 You will be disconnected"));
        // A banner of one's own (ftpd_banner) hides the server: not assumed.
        assert!(!seq("220 Welcome, says vsFTPd (vsFTPd 3.0.3)"));
        assert!(!seq(""));
    }

    #[test]
    fn features_from_feat() {
        let f = Features::from_names(&["MLST", "MFMT", "SIZE"]);
        assert!(f.mlsd && f.mfmt && f.mlst);
        assert!(!Features::from_names::<&str>(&[]).mlsd);
    }
}
