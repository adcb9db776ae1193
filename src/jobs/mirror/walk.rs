//! Listing a remote tree over the pool: the root on one session, then every
//! directory below it by whichever session is free, in parallel.

use std::sync::{Condvar, Mutex};
use std::time::Duration;

use super::control::{rjoin, with_retries, Control};
use super::glob::Filter;
use super::plan::{Kind, Tree};
use super::remote::{JobError, Remote};
use crate::jobs::pool::{Connector, Lease, Pool};

pub struct Walked {
    pub tree: Tree,
    /// Directories that could not be listed, and why.
    pub errors: Vec<(String, String)>,
}

struct Queue {
    pending: Vec<String>,
    /// Workers listing a directory now.
    busy: usize,
    /// Workers taking a session, or holding one and waiting for work: a
    /// worker without one only takes one for work nobody else will do.
    ready: usize,
}

fn child(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_owned()
    } else {
        format!("{dir}/{name}")
    }
}

/// Lists everything below `root` (whose own listing failing is the error
/// returned), not entering directories the filter excludes.
pub fn walk<C>(
    pool: &Pool<C>,
    root: &str,
    filter: &Filter,
    workers: usize,
    retries: u32,
    ctl: &Control,
) -> Result<Walked, JobError>
where
    C: Connector,
    C::Session: Remote,
{
    let mut tree = Tree::new();
    let mut pending = Vec::new();
    let add = |tree: &mut Tree, pending: &mut Vec<String>, dir: &str, entries: Vec<(String, super::plan::Node)>| {
        for (name, node) in entries {
            let path = child(dir, &name);
            if node.kind == Kind::Dir && !filter.dir_excluded(&path) {
                pending.push(path.clone());
            }
            tree.insert(path, node);
        }
    };
    {
        let mut lease = None;
        let entries = with_retries(pool, &mut lease, retries, ctl, |s| s.list(root))?;
        add(&mut tree, &mut pending, "", entries);
    }
    // Depth-first from the end of the list keeps the queue short on deep trees.
    let queue = Mutex::new(Queue { pending, busy: 0, ready: 0 });
    let wake = Condvar::new();
    let found = Mutex::new((tree, Vec::new()));
    let workers = workers.max(1);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                let mut lease: Option<Lease<'_, C>> = None;
                loop {
                    if ctl.stopped() {
                        return;
                    }
                    // A session first, then work: a worker waiting for a
                    // session must not hold a directory others wait on.
                    if lease.is_none() {
                        {
                            let mut q = queue.lock().unwrap();
                            loop {
                                if ctl.stopped() || (q.pending.is_empty() && q.busy == 0) {
                                    return;
                                }
                                if q.pending.len() > q.ready {
                                    q.ready += 1;
                                    break;
                                }
                                q = wake.wait_timeout(q, Duration::from_millis(50)).unwrap().0;
                            }
                        }
                        let got = pool.get();
                        if let Ok(l) = got {
                            lease = Some(l);
                        } else {
                            queue.lock().unwrap().ready -= 1;
                            wake.notify_all();
                            return;
                        }
                    } else {
                        queue.lock().unwrap().ready += 1;
                    }
                    let dir = {
                        let mut q = queue.lock().unwrap();
                        let dir = loop {
                            if ctl.stopped() {
                                q.ready -= 1;
                                return;
                            }
                            if let Some(d) = q.pending.pop() {
                                q.busy += 1;
                                break d;
                            }
                            if q.busy == 0 {
                                q.ready -= 1;
                                return;
                            }
                            q = wake.wait_timeout(q, Duration::from_millis(50)).unwrap().0;
                        };
                        q.ready -= 1;
                        dir
                    };
                    let listed = with_retries(pool, &mut lease, retries, ctl, |s| s.list(&rjoin(root, &dir)));
                    let mut more = Vec::new();
                    {
                        let mut f = found.lock().unwrap();
                        match listed {
                            Ok(entries) => add(&mut f.0, &mut more, &dir, entries),
                            Err(e) => f.1.push((dir, e.message)),
                        }
                    }
                    let mut q = queue.lock().unwrap();
                    q.busy -= 1;
                    q.pending.extend(more);
                    drop(q);
                    wake.notify_all();
                }
            });
        }
    });
    let (tree, mut errors) = found.into_inner().unwrap();
    // Directories left when every worker gave up (no session could be had).
    for dir in queue.into_inner().unwrap().pending {
        errors.push((dir, "no session to list it".into()));
    }
    Ok(Walked { tree, errors })
}
