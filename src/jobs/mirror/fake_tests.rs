//! The whole mirror run against an in-memory server, both directions.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::glob::Filter;
use super::plan::{Kind, Node};
use super::remote::{Fault, JobError, Next, OnBytes, Remote};
use super::run::{run, Control, Job, MirrorError, Outcome};
use crate::jobs::pool::{Config, Connector, Pool};

#[derive(Clone, Debug, PartialEq)]
enum Item {
    Dir,
    File(Vec<u8>, i64),
}

#[derive(Default)]
struct Server {
    items: Mutex<BTreeMap<String, Item>>,
    limit: usize,
    open: AtomicUsize,
    peak: AtomicUsize,
    transfers: AtomicUsize,
    /// Path → (fault, how many more times it fails).
    faults: Mutex<HashMap<String, (Fault, u32)>>,
}

impl Server {
    fn with(items: &[(&str, Item)], limit: usize) -> Arc<Self> {
        let mut map = BTreeMap::new();
        map.insert("srv".to_string(), Item::Dir);
        for (p, i) in items {
            map.insert(format!("srv/{p}"), i.clone());
        }
        Arc::new(Server { items: Mutex::new(map), limit, ..Server::default() })
    }

    fn fault(&self, path: &str) -> Result<(), JobError> {
        let mut f = self.faults.lock().unwrap();
        if let Some((fault, left)) = f.get_mut(path) {
            if *left > 0 {
                *left -= 1;
                return Err(JobError { fault: *fault, message: format!("451 injected fault on {path}"), errno: None });
            }
        }
        Ok(())
    }
}

struct Conn(Arc<Server>);
struct Session(Arc<Server>);

impl Connector for Conn {
    type Session = Session;
    type Error = String;
    fn open(&self) -> Result<Session, String> {
        let n = self.0.open.fetch_add(1, Ordering::SeqCst) + 1;
        if n > self.0.limit {
            self.0.open.fetch_sub(1, Ordering::SeqCst);
            return Err("421 Too many connections from your address".into());
        }
        self.0.peak.fetch_max(n, Ordering::SeqCst);
        Ok(Session(self.0.clone()))
    }
    fn is_refusal(&self, e: &String) -> bool {
        e.starts_with("421")
    }
    fn check(&self, _: &mut Session) -> bool {
        true
    }
    fn close(&self, _: Session) {
        self.0.open.fetch_sub(1, Ordering::SeqCst);
    }
}

fn parent(p: &str) -> &str {
    p.rfind('/').map_or("", |i| &p[..i])
}

impl Remote for Session {
    fn list(&mut self, dir: &str) -> Result<Vec<(String, Node)>, JobError> {
        let items = self.0.items.lock().unwrap();
        if items.get(dir) != Some(&Item::Dir) {
            return Err(JobError::permanent("550 No such directory"));
        }
        Ok(items
            .iter()
            .filter(|(p, _)| p.len() > dir.len() && parent(p) == dir)
            .map(|(p, i)| {
                let name = p[dir.len() + 1..].to_owned();
                let node = match i {
                    Item::Dir => Node::dir(),
                    Item::File(b, t) => Node::file(b.len() as u64, Some(*t)),
                };
                (name, node)
            })
            .collect())
    }

    fn download(
        &mut self,
        remote: &str,
        local: &Path,
        _: &Node,
        _: Option<Next<'_>>,
        on_bytes: OnBytes<'_>,
    ) -> Result<u64, JobError> {
        self.0.fault(remote)?;
        let data = match self.0.items.lock().unwrap().get(remote) {
            Some(Item::File(b, _)) => b.clone(),
            _ => return Err(JobError::permanent("550 No such file")),
        };
        let part = local.with_extension("part");
        fs::write(&part, &data)?;
        if !on_bytes(data.len() as u64) {
            return Err(JobError::stopped());
        }
        fs::rename(&part, local)?;
        self.0.transfers.fetch_add(1, Ordering::SeqCst);
        Ok(data.len() as u64)
    }

    fn upload(
        &mut self,
        local: &Path,
        remote: &str,
        mtime: Option<i64>,
        _: Option<Next<'_>>,
        on_bytes: OnBytes<'_>,
    ) -> Result<u64, JobError> {
        self.0.fault(remote)?;
        let data = fs::read(local)?;
        on_bytes(data.len() as u64);
        let mut items = self.0.items.lock().unwrap();
        if items.get(parent(remote)) != Some(&Item::Dir) {
            return Err(JobError::permanent("553 No such directory"));
        }
        let n = data.len() as u64;
        items.insert(remote.to_owned(), Item::File(data, mtime.unwrap_or(0)));
        self.0.transfers.fetch_add(1, Ordering::SeqCst);
        Ok(n)
    }

    fn is_dir(&mut self, path: &str) -> Result<bool, JobError> {
        Ok(self.0.items.lock().unwrap().get(path) == Some(&Item::Dir))
    }

    fn mkdir(&mut self, dir: &str) -> Result<(), JobError> {
        let mut items = self.0.items.lock().unwrap();
        if items.contains_key(dir) || items.get(parent(dir)) != Some(&Item::Dir) {
            return Err(JobError::permanent("550 Cannot create directory"));
        }
        items.insert(dir.to_owned(), Item::Dir);
        Ok(())
    }

    fn remove(&mut self, path: &str, dir: bool) -> Result<(), JobError> {
        let mut items = self.0.items.lock().unwrap();
        let has_children = items.keys().any(|p| parent(p) == path);
        match items.get(path) {
            Some(Item::Dir) if dir && !has_children => {}
            Some(Item::File(..)) if !dir => {}
            _ => return Err(JobError::permanent("550 Cannot remove")),
        }
        items.remove(path);
        Ok(())
    }
}

fn scratch(name: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("rftplib-mirror-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&p);
    p
}

fn sample() -> Vec<(&'static str, Item)> {
    vec![
        ("a b", Item::Dir),
        ("a b/ünï", Item::Dir),
        ("a b/ünï/-dash", Item::File(b"dash".to_vec(), 1_600_000_000)),
        ("a b/x", Item::File(vec![7; 5000], 1_600_000_100)),
        ("empty", Item::Dir),
        ("top.txt", Item::File(b"top".to_vec(), 1_600_000_200)),
    ]
}

fn job(source: &str, target: &str, upload: bool) -> Job {
    Job {
        source: source.into(),
        target: target.into(),
        upload,
        connections: 4,
        delete: false,
        newer_only: true,
        filter: Filter::default(),
        dry_run: false,
        retries: 2,
        fail_fast: false,
    }
}

fn mirror(srv: &Arc<Server>, job: &Job) -> Result<Outcome, MirrorError> {
    let ctl = Control::default();
    let config = Config { max: job.connections, idle_timeout: Duration::from_secs(60), check_after: Duration::ZERO };
    let pool = Pool::new(Conn(srv.clone()), config, ctl.stop.clone());
    run(job, &pool, &ctl)
}

#[test]
fn download_then_nothing_to_do() {
    let srv = Server::with(&sample(), 10);
    let dst = scratch("down");
    let out = mirror(&srv, &job("srv", dst.to_str().unwrap(), false)).unwrap();
    assert_eq!(out.transferred, ["a b/x", "a b/ünï/-dash", "top.txt"]);
    assert_eq!(out.bytes, 5007);
    assert!(out.failed.is_empty());
    assert_eq!(fs::read(dst.join("a b/ünï/-dash")).unwrap(), b"dash");
    assert!(dst.join("empty").is_dir());
    let (tree, _) = super::local::walk(&dst, &Filter::default()).unwrap();
    assert_eq!(tree["top.txt"].mtime, Some(1_600_000_200), "the listing's time is kept");

    let again = mirror(&srv, &job("srv", dst.to_str().unwrap(), false)).unwrap();
    assert!(again.transferred.is_empty());
    assert_eq!(again.skipped.len(), 3);
    assert_eq!(srv.transfers.load(Ordering::SeqCst), 3);
    fs::remove_dir_all(&dst).unwrap();
}

#[test]
fn upload_then_delete_extras() {
    let src = scratch("up");
    fs::create_dir_all(src.join("d/e")).unwrap();
    fs::write(src.join("d/e/f"), b"deep").unwrap();
    fs::write(src.join("g"), b"gg").unwrap();
    let srv = Server::with(&[("stale", Item::Dir), ("stale/old", Item::File(vec![1], 5))], 10);
    let mut j = job(src.to_str().unwrap(), "srv/new", true);
    let out = mirror(&srv, &j).unwrap();
    assert_eq!(out.transferred, ["d/e/f", "g"]);
    assert_eq!(
        srv.items.lock().unwrap()["srv/new/d/e/f"],
        Item::File(b"deep".to_vec(), local_mtime(&src.join("d/e/f")))
    );
    assert!(mirror(&srv, &j).unwrap().transferred.is_empty());

    j.target = "srv".into();
    j.delete = true;
    let out = mirror(&srv, &j).unwrap();
    assert_eq!(out.deleted, ["new/d/e/f", "new/d/e", "new/g", "stale/old", "new/d", "new", "stale"]);
    let items = srv.items.lock().unwrap();
    assert!(items.contains_key("srv/g") && !items.contains_key("srv/stale"));
    drop(items);
    fs::remove_dir_all(&src).unwrap();
}

fn local_mtime(p: &Path) -> i64 {
    super::local::node_of(&fs::metadata(p).unwrap()).mtime.unwrap()
}

#[test]
fn transient_faults_are_retried_permanent_ones_reported() {
    let srv = Server::with(&sample(), 10);
    srv.faults.lock().unwrap().insert("srv/a b/x".into(), (Fault::Transient, 2));
    srv.faults.lock().unwrap().insert("srv/top.txt".into(), (Fault::Permanent, 1));
    let dst = scratch("faults");
    let out = mirror(&srv, &job("srv", dst.to_str().unwrap(), false)).unwrap();
    assert_eq!(out.transferred, ["a b/x", "a b/ünï/-dash"]);
    assert_eq!(out.failed, [("top.txt".to_string(), "451 injected fault on srv/top.txt".to_string())]);
    assert!(!dst.join("top.txt").exists());
    fs::remove_dir_all(&dst).unwrap();
}

#[test]
fn fail_fast_stops_at_the_first_failure() {
    let srv = Server::with(&sample(), 10);
    srv.faults.lock().unwrap().insert("srv/a b/x".into(), (Fault::Permanent, 1));
    let dst = scratch("failfast");
    let mut j = job("srv", dst.to_str().unwrap(), false);
    j.fail_fast = true;
    j.connections = 1;
    match mirror(&srv, &j) {
        Err(MirrorError::Failed { path, error }) => {
            assert_eq!(path, "a b/x");
            assert_eq!(error.fault, Fault::Permanent);
        }
        other => panic!("{other:?}"),
    }
    fs::remove_dir_all(&dst).unwrap();
}

#[test]
fn more_connections_than_the_server_allows() {
    let items: Vec<(String, Item)> = (0..40).map(|i| (format!("f{i:02}"), Item::File(vec![i as u8; 100], 1))).collect();
    let refs: Vec<(&str, Item)> = items.iter().map(|(p, i)| (p.as_str(), i.clone())).collect();
    let srv = Server::with(&refs, 2);
    let dst = scratch("limit");
    let mut j = job("srv", dst.to_str().unwrap(), false);
    j.connections = 8;
    let out = mirror(&srv, &j).unwrap();
    assert_eq!(out.transferred.len(), 40);
    assert!(out.failed.is_empty());
    assert!(srv.peak.load(Ordering::SeqCst) <= 2);
    fs::remove_dir_all(&dst).unwrap();
}

#[test]
fn dry_run_changes_nothing() {
    let srv = Server::with(&sample(), 10);
    let dst = scratch("dry");
    let mut j = job("srv", dst.to_str().unwrap(), false);
    j.dry_run = true;
    let out = mirror(&srv, &j).unwrap();
    assert_eq!(out.transferred.len(), 3);
    assert!(!dst.exists());
    assert_eq!(srv.transfers.load(Ordering::SeqCst), 0);
}

#[test]
fn filters_and_missing_source() {
    let srv = Server::with(&sample(), 10);
    let dst = scratch("filter");
    let mut j = job("srv", dst.to_str().unwrap(), false);
    j.filter = Filter::new(&["*.txt", "-*"], &["ünï"]).unwrap();
    let out = mirror(&srv, &j).unwrap();
    assert_eq!(out.transferred, ["top.txt"]);
    j.source = "srv/nope".into();
    assert!(matches!(mirror(&srv, &j), Err(MirrorError::Failed { .. })));
    fs::remove_dir_all(&dst).unwrap();
}

#[test]
fn a_raised_stop_flag_stops() {
    let srv = Server::with(&sample(), 10);
    let dst = scratch("stop");
    let j = job("srv", dst.to_str().unwrap(), false);
    let ctl = Control::new(Arc::new(AtomicBool::new(true)));
    let pool = Pool::new(Conn(srv.clone()), Config::default(), ctl.stop.clone());
    assert_eq!(run(&j, &pool, &ctl), Err(MirrorError::Stopped));
    let _ = Kind::File;
}
