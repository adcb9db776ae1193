//! Running a mirror: list both trees, plan, then make directories, transfer
//! files over `connections` workers (each keeping its session between
//! files), and delete, reporting per file what failed while the rest go on.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

pub use super::control::{rjoin, with_retries, Control, Progress, Snapshot};
use super::glob::Filter;
use super::local;
use super::plan::{plan, Action, Kind, Node, Options, Tree};
use super::remote::{DirOp, Fault, JobError, Next, Remote};
use super::walk;
use crate::jobs::pool::{Connector, Lease, Pool, PoolError};

/// What to mirror, and how.
#[derive(Clone, Debug)]
pub struct Job {
    /// The remote directory (download) or the local one (`upload`).
    pub source: String,
    pub target: String,
    pub upload: bool,
    pub connections: usize,
    pub delete: bool,
    pub newer_only: bool,
    pub filter: Filter,
    pub dry_run: bool,
    pub retries: u32,
    pub fail_fast: bool,
}

/// What a run did; paths are relative to the two roots.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Outcome {
    pub transferred: Vec<String>,
    pub skipped: Vec<String>,
    pub deleted: Vec<String>,
    pub failed: Vec<(String, String)>,
    pub bytes: u64,
    pub seconds: f64,
}

/// Why a run stopped before the end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MirrorError {
    /// A failure that stops the whole run: a root that cannot be read, or
    /// any failure under `fail_fast`. `path` is relative ("" for a root).
    Failed { path: String, error: JobError },
    /// The stop flag was raised (Ctrl-C).
    Stopped,
}

struct Sides<'a> {
    job: &'a Job,
}

impl Sides<'_> {
    fn local_root(&self) -> &Path {
        Path::new(if self.job.upload { &self.job.source } else { &self.job.target })
    }

    fn remote_root(&self) -> &str {
        if self.job.upload {
            &self.job.target
        } else {
            &self.job.source
        }
    }

    fn local(&self, rel: &str) -> PathBuf {
        local::join(self.local_root(), rel)
    }

    fn remote(&self, rel: &str) -> String {
        rjoin(self.remote_root(), rel)
    }
}

/// Runs `job` over `pool`; blocking. The pool's stop flag must be `ctl.stop`.
pub fn run<C>(job: &Job, pool: &Pool<C>, ctl: &Control) -> Result<Outcome, MirrorError>
where
    C: Connector,
    C::Session: Remote,
{
    let started = Instant::now();
    let sides = Sides { job };
    let workers = job.connections.max(1);
    let root_err = |error: JobError| {
        if error.fault == Fault::Stopped {
            MirrorError::Stopped
        } else {
            MirrorError::Failed { path: String::new(), error }
        }
    };
    let mut out = Outcome::default();
    let mut protect = BTreeSet::new();

    // Both trees.
    let (source, target, target_missing) = if job.upload {
        match std::fs::metadata(&job.source) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                let e = std::io::Error::from_raw_os_error(libc::ENOTDIR);
                return Err(root_err(JobError { message: format!("{}: {e}", job.source), ..e.into() }));
            }
            Err(e) => return Err(root_err(JobError { message: format!("{}: {e}", job.source), ..e.into() })),
        }
        let (source, errors) = local::walk(sides.local_root(), &job.filter).map_err(|e| root_err(e.into()))?;
        for (dir, why) in errors {
            protect.insert(dir.clone());
            out.failed.push((dir, why));
        }
        match walk::walk(pool, sides.remote_root(), &job.filter, workers, job.retries, ctl) {
            Ok(w) => {
                for (dir, why) in w.errors {
                    out.failed.push((dir, why));
                }
                let missing = w.tree.is_empty();
                (source, w.tree, missing)
            }
            // A target that cannot be listed is taken as not there yet.
            Err(e) if e.fault == Fault::Permanent => (source, Tree::new(), true),
            Err(e) => return Err(root_err(e)),
        }
    } else {
        let w = walk::walk(pool, sides.remote_root(), &job.filter, workers, job.retries, ctl).map_err(root_err)?;
        if w.tree.is_empty() {
            // Some servers (vsftpd) list a missing directory as empty: make
            // sure the source is there before mirroring "nothing".
            let mut lease = None;
            let is_dir = with_retries(pool, &mut lease, job.retries, ctl, |s| s.is_dir(sides.remote_root()))
                .map_err(root_err)?;
            if !is_dir {
                // As servers with MLSD answer.
                return Err(root_err(JobError::permanent(format!("550 {}: No such directory.", job.source))));
            }
        }
        for (dir, why) in w.errors {
            protect.insert(dir.clone());
            out.failed.push((dir, why));
        }
        let (target, errors) = local::walk(sides.local_root(), &job.filter).map_err(|e| root_err(e.into()))?;
        out.failed.extend(errors);
        let missing = !sides.local_root().exists();
        (w.tree, target, missing)
    };
    if ctl.stopped() {
        return Err(MirrorError::Stopped);
    }

    let opts = Options { delete: job.delete, newer_only: job.newer_only, filter: job.filter.clone(), protect };
    let actions = plan(&source, &target, &opts);
    let mut transfers: Vec<(String, Node)> = Vec::new();
    let mut mkdirs = Vec::new();
    let mut early_deletes = Vec::new();
    let mut late_deletes = Vec::new();
    let mut seen_transfer = false;
    for a in actions {
        match a {
            Action::Conflict { path, reason } => out.failed.push((path, reason)),
            Action::Skip { path, .. } => out.skipped.push(path),
            Action::Mkdir(p) => mkdirs.push(p),
            Action::Transfer { path, size, mtime, .. } => {
                seen_transfer = true;
                let precision = source.get(&path).map_or(1, |n| n.precision);
                transfers.push((path, Node { kind: Kind::File, size, mtime, precision }));
            }
            Action::Delete { path, dir } => {
                if seen_transfer || !mkdirs.is_empty() || !out.skipped.is_empty() {
                    late_deletes.push((path, dir));
                } else {
                    early_deletes.push((path, dir));
                }
            }
        }
    }
    // The plan puts deletes that clear the way before any mkdir or copy;
    // the rest come last.
    let bytes_total: u64 = transfers.iter().filter_map(|(_, n)| n.size).sum();
    ctl.progress.files_total.store(transfers.len(), Ordering::Relaxed);
    ctl.progress.bytes_total.store(bytes_total, Ordering::Relaxed);

    if job.dry_run {
        out.transferred = transfers.into_iter().map(|(p, _)| p).collect();
        out.deleted = early_deletes.into_iter().chain(late_deletes).map(|(p, _)| p).collect();
        out.bytes = bytes_total;
        out.seconds = started.elapsed().as_secs_f64();
        return Ok(out);
    }

    // The target root.
    if target_missing {
        if job.upload {
            // Each missing parent too, like `mkdir -p`; a failure shows in
            // the transfers that follow.
            let mut lease = None;
            let root = sides.remote_root();
            let ends = root.char_indices().filter(|&(i, c)| c == '/' && i > 0).map(|(i, _)| i).chain([root.len()]);
            for end in ends.filter(|&end| end > 0) {
                let e = with_retries(pool, &mut lease, job.retries, ctl, |s| s.mkdir(&root[..end])).err();
                if e.is_some_and(|e| e.fault == Fault::Stopped) {
                    return Err(MirrorError::Stopped);
                }
            }
        } else {
            std::fs::create_dir_all(sides.local_root()).map_err(|e| root_err(e.into()))?;
        }
    }

    let failed = Mutex::new(std::mem::take(&mut out.failed));
    let report = |path: &str, e: JobError| {
        if e.fault == Fault::Stopped {
            return;
        }
        if job.fail_fast {
            ctl.fail_fast(path, &e);
        }
        failed.lock().unwrap().push((path.to_owned(), e.message));
    };

    // Deletes that clear the way, then directories, on one session.
    let mut deleted = Vec::new();
    let mut lease = None;
    for (path, r) in delete_all(job, &sides, pool, &mut lease, ctl, &early_deletes) {
        match r {
            Ok(()) => deleted.push(path),
            Err(e) => report(&path, e),
        }
    }
    let mut unmade: BTreeSet<String> = BTreeSet::new();
    if job.upload {
        let ops: Vec<(String, DirOp)> = mkdirs.iter().map(|d| (d.clone(), DirOp::Mkdir(sides.remote(d)))).collect();
        for (dir, r) in run_batch(job, pool, &mut lease, ctl, ops) {
            if let Err(e) = r {
                report(&dir, e);
                unmade.insert(dir);
            }
        }
    } else {
        for dir in &mkdirs {
            if let Err(e) = local::mkdir(&sides.local(dir)) {
                report(dir, e.into());
                unmade.insert(dir.clone());
            }
        }
    }
    drop(lease);

    // Transfers.
    let next = AtomicUsize::new(0);
    let done = Mutex::new(Vec::new());
    let bytes = AtomicU64::new(0);
    let under_unmade = |path: &str| {
        let mut p = path;
        while let Some(i) = p.rfind('/') {
            p = &p[..i];
            if unmade.contains(p) {
                return true;
            }
        }
        false
    };
    std::thread::scope(|scope| {
        for _ in 0..workers.min(transfers.len()) {
            scope.spawn(|| {
                let mut lease: Option<Lease<'_, C>> = None;
                // A file this worker already claimed (and may have asked for).
                let mut current: Option<usize> = None;
                loop {
                    if ctl.stopped() {
                        break;
                    }
                    // Take a session before taking a file (see walk.rs).
                    if lease.is_none() && (current.is_some() || next.load(Ordering::Relaxed) < transfers.len()) {
                        match pool.get() {
                            Ok(l) => lease = Some(l),
                            Err(PoolError::Stopped) => break,
                            // Leave the files to workers that have a session;
                            // with none, the files are reported below.
                            Err(PoolError::Open(e)) => {
                                if let Some(i) = current.take() {
                                    report(&transfers[i].0, JobError::transient(e.to_string()));
                                }
                                break;
                            }
                        }
                    }
                    let i = current.take().unwrap_or_else(|| next.fetch_add(1, Ordering::Relaxed));
                    let Some((path, node)) = transfers.get(i) else {
                        break;
                    };
                    if under_unmade(path) {
                        report(path, JobError::permanent("its directory could not be made"));
                        continue;
                    }
                    // Claim the following file now, so that its request can
                    // go out behind this transfer.
                    let following = Some(next.fetch_add(1, Ordering::Relaxed)).filter(|&j| j < transfers.len());
                    let hint = following.map(|j| &transfers[j]).filter(|(p, _)| !under_unmade(p));
                    *ctl.progress.current.lock().unwrap() = path.clone();
                    let result = transfer_one(job, &sides, pool, &mut lease, ctl, path, node, hint);
                    current = following;
                    match result {
                        Ok(n) => {
                            bytes.fetch_add(n, Ordering::Relaxed);
                            ctl.progress.files_done.fetch_add(1, Ordering::Relaxed);
                            done.lock().unwrap().push(path.clone());
                        }
                        Err(e) => report(path, e),
                    }
                }
                // A session with a request out is good for nothing else.
                if let Some(l) = lease.take() {
                    if l.is_clean() {
                        drop(l);
                    } else {
                        l.discard();
                    }
                }
            });
        }
    });
    // Files no worker could take (no session at all).
    let taken = next.load(Ordering::Relaxed).min(transfers.len());
    if !ctl.stopped() {
        for (path, _) in &transfers[taken..] {
            report(path, JobError::transient("no session available"));
        }
    }

    if let Some((path, error)) = ctl.first_failure.lock().unwrap().take() {
        return Err(MirrorError::Failed { path, error });
    }
    if ctl.stopped() {
        return Err(MirrorError::Stopped);
    }

    // Deletes last: files before their directories, deepest first.
    let mut lease = None;
    for (path, r) in delete_all(job, &sides, pool, &mut lease, ctl, &late_deletes) {
        match r {
            Ok(()) => deleted.push(path),
            Err(e) => report(&path, e),
        }
    }
    drop(lease);
    if let Some((path, error)) = ctl.first_failure.lock().unwrap().take() {
        return Err(MirrorError::Failed { path, error });
    }
    if ctl.stopped() {
        return Err(MirrorError::Stopped);
    }

    out.transferred = done.into_inner().unwrap();
    out.transferred.sort();
    out.deleted = deleted;
    out.failed = failed.into_inner().unwrap();
    out.failed.sort();
    out.bytes = bytes.load(Ordering::Relaxed);
    out.seconds = started.elapsed().as_secs_f64();
    Ok(out)
}

/// Deletes in order: locally one by one, remotely in pipelined batches.
fn delete_all<'p, C>(
    job: &Job,
    sides: &Sides<'_>,
    pool: &'p Pool<C>,
    lease: &mut Option<Lease<'p, C>>,
    ctl: &Control,
    items: &[(String, bool)],
) -> Vec<(String, Result<(), JobError>)>
where
    C: Connector,
    C::Session: Remote,
{
    if job.upload {
        let ops =
            items.iter().map(|(p, dir)| (p.clone(), DirOp::Remove { path: sides.remote(p), dir: *dir })).collect();
        run_batch(job, pool, lease, ctl, ops)
    } else {
        items
            .iter()
            .take_while(|_| !ctl.stopped())
            .map(|(p, dir)| (p.clone(), local::remove(&sides.local(p), *dir).map_err(JobError::from)))
            .collect()
    }
}

/// How many directory operations go out in one write.
const BATCH: usize = 64;

/// Runs `ops` (relative path, operation) in order over one session, in
/// pipelined batches; after a session failure, the rest one at a time with
/// retries.
fn run_batch<'p, C>(
    job: &Job,
    pool: &'p Pool<C>,
    lease: &mut Option<Lease<'p, C>>,
    ctl: &Control,
    ops: Vec<(String, DirOp)>,
) -> Vec<(String, Result<(), JobError>)>
where
    C: Connector,
    C::Session: Remote,
{
    let mut out = Vec::with_capacity(ops.len());
    let mut i = 0;
    while i < ops.len() && !ctl.stopped() {
        let chunk: Vec<DirOp> = ops[i..(i + BATCH).min(ops.len())].iter().map(|(_, op)| op.clone()).collect();
        let batch = with_retries(pool, lease, 0, ctl, |s| s.batch(&chunk));
        match batch {
            Ok(results) if !results.is_empty() => {
                let n = results.len();
                out.extend(ops[i..i + n].iter().map(|(p, _)| p.clone()).zip(results));
                i += n;
            }
            _ => {
                // One at a time, each with its retries.
                let (path, op) = &ops[i];
                let r = with_retries(pool, lease, job.retries, ctl, |s| match op {
                    DirOp::Mkdir(p) => s.mkdir(p),
                    DirOp::Remove { path, dir } => s.remove(path, *dir),
                });
                out.push((path.clone(), r));
                i += 1;
            }
        }
    }
    out
}

#[allow(clippy::too_many_arguments)]
/// One file, with retries; counts its bytes into the progress as they come
/// and takes them back out if the attempt fails.
fn transfer_one<'p, C>(
    job: &Job,
    sides: &Sides<'_>,
    pool: &'p Pool<C>,
    lease: &mut Option<Lease<'p, C>>,
    ctl: &Control,
    path: &str,
    node: &Node,
    following: Option<&(String, Node)>,
) -> Result<u64, JobError>
where
    C: Connector,
    C::Session: Remote,
{
    let local_path = sides.local(path);
    let remote_path = sides.remote(path);
    let following = following.map(|(p, n)| (sides.remote(p), sides.local(p), n));
    let progress = &ctl.progress;
    with_retries(pool, lease, job.retries, ctl, |s| {
        let mut counted = 0u64;
        let mut on_bytes = |n: u64| {
            if n > counted {
                progress.bytes_done.fetch_add(n - counted, Ordering::Relaxed);
                counted = n;
            }
            !ctl.stopped()
        };
        let next = following.as_ref().map(|(remote, local, expect)| Next { remote, local, expect });
        let r = if job.upload {
            s.upload(&local_path, &remote_path, node.mtime, next, &mut on_bytes)
        } else {
            s.download(&remote_path, &local_path, node, next, &mut on_bytes).and_then(|n| {
                // The listing's time, so that the next run sees a match.
                if let Some(t) = node.mtime {
                    local::set_mtime(&local_path, t)?;
                }
                Ok(n)
            })
        };
        match &r {
            Ok(n) if *n > counted => {
                progress.bytes_done.fetch_add(n - counted, Ordering::Relaxed);
            }
            Err(_) => {
                progress.bytes_done.fetch_sub(counted, Ordering::Relaxed);
            }
            _ => {}
        }
        r
    })
}
