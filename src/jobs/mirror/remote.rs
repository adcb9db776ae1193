//! What mirror needs from one logged-in session to the server. The real
//! sessions implement it in `session_remote.rs`; the tests use an in-memory fake.

use std::path::Path;

use super::plan::Node;

/// How a failed operation should be treated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// A 5xx reply: the same request would fail again; the session is fine.
    Permanent,
    /// A 4xx reply, a timeout or a broken connection: worth another try on
    /// another session (this one's state is unknown).
    Transient,
    /// The job's stop flag was raised (Ctrl-C, fail-fast) mid-operation.
    Stopped,
}

/// A failed remote or local operation, with the server's reply or the OS
/// error as its message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobError {
    pub fault: Fault,
    pub message: String,
    /// The OS error number of a local file error (raised as that `OSError`).
    pub errno: Option<i32>,
}

impl JobError {
    pub fn permanent(message: impl Into<String>) -> Self {
        JobError { fault: Fault::Permanent, message: message.into(), errno: None }
    }

    pub fn transient(message: impl Into<String>) -> Self {
        JobError { fault: Fault::Transient, message: message.into(), errno: None }
    }

    pub fn stopped() -> Self {
        JobError { fault: Fault::Stopped, message: "stopped".into(), errno: None }
    }

    /// Classifies a server reply by its first digit.
    pub fn from_reply(reply: &str) -> Self {
        if reply.starts_with('5') {
            JobError::permanent(reply)
        } else {
            JobError::transient(reply)
        }
    }
}

impl std::fmt::Display for JobError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<std::io::Error> for JobError {
    /// Local file errors (permissions, a full disk) do not go away by retrying.
    fn from(e: std::io::Error) -> Self {
        JobError { errno: e.raw_os_error(), ..JobError::permanent(e.to_string()) }
    }
}

/// Called with the bytes of the current file done so far; returns false to
/// stop the transfer (leaving its partial file for a later resume).
pub type OnBytes<'a> = &'a mut dyn FnMut(u64) -> bool;

/// The file a session transfers after the current one (see [`Remote::download`]).
#[derive(Clone, Copy, Debug)]
pub struct Next<'a> {
    pub remote: &'a str,
    pub local: &'a Path,
    pub expect: &'a Node,
}

/// A directory operation for [`Remote::batch`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DirOp {
    Mkdir(String),
    Remove { path: String, dir: bool },
}

/// One session's worth of remote operations. Paths are as the server takes
/// them (the mirror joins the root given by the user with relative paths).
pub trait Remote: Send {
    /// The entries of one directory (not `.` and `..`), by name.
    fn list(&mut self, dir: &str) -> Result<Vec<(String, Node)>, JobError>;
    /// Downloads `remote` into `local`, atomically (a `.part` file renamed
    /// into place once complete and verified), resuming a `.part` left by an
    /// earlier run. `expect` is what the listing said of the file. Returns
    /// the bytes received. `next` is the file this session downloads next,
    /// which the session may start asking for before this call returns.
    fn download(
        &mut self,
        remote: &str,
        local: &Path,
        expect: &Node,
        next: Option<Next<'_>>,
        on_bytes: OnBytes<'_>,
    ) -> Result<u64, JobError>;
    /// Uploads `local` to `remote`, atomically where the server allows, and
    /// sets the remote time to `mtime` where the server supports it (MFMT).
    fn upload(
        &mut self,
        local: &Path,
        remote: &str,
        mtime: Option<i64>,
        next: Option<Next<'_>>,
        on_bytes: OnBytes<'_>,
    ) -> Result<u64, JobError>;
    /// Whether `path` is a directory (for servers that list a missing
    /// directory as an empty one).
    fn is_dir(&mut self, path: &str) -> Result<bool, JobError>;
    fn mkdir(&mut self, dir: &str) -> Result<(), JobError>;
    /// False while the session has a request out that only the transfer of
    /// the `next` file it was given consumes: such a session is closed, not
    /// handed to anyone else.
    fn is_clean(&self) -> bool {
        true
    }
    /// Deletes a file (DELE) or an empty directory (RMD).
    fn remove(&mut self, path: &str, dir: bool) -> Result<(), JobError>;

    /// Runs `ops` in order, one result each. `Err` means the session failed
    /// part way (the results are unknown from there on); sessions that can
    /// send them all at once (pipelining) do so.
    fn batch(&mut self, ops: &[DirOp]) -> Result<Vec<Result<(), JobError>>, JobError> {
        let mut out = Vec::with_capacity(ops.len());
        for op in ops {
            let r = match op {
                DirOp::Mkdir(p) => self.mkdir(p),
                DirOp::Remove { path, dir } => self.remove(path, *dir),
            };
            match r {
                Err(e) if e.fault != Fault::Permanent => return Err(e),
                r => out.push(r),
            }
        }
        Ok(out)
    }
}
