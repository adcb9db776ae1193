//! What a mirror run does, decided from the two trees alone: a pure function
//! of listings, so it is tested without a server.
//!
//! Trees map relative paths (`/`-separated, no leading `/`, the root itself
//! not included) to nodes. The plan creates directories parent first, then
//! transfers files, then deletes what the source no longer has (files before
//! their directories, deepest first). A file whose size matches and whose
//! time matches (within the listings' precision), or whose target copy is
//! newer when `newer_only` is set, is skipped, so a second run transfers nothing.

use std::collections::{BTreeMap, BTreeSet};

use super::glob::Filter;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
    /// A symbolic link: never followed, never copied.
    Link,
    Other,
}

/// One entry of a tree listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    pub kind: Kind,
    pub size: Option<u64>,
    /// Modification time, Unix seconds UTC.
    pub mtime: Option<i64>,
    /// How coarse `mtime` is, in seconds: 1 for MLSD, MDTM and local files,
    /// 60 for a LIST line that shows a time of day, 86,400 for one that shows a year.
    pub precision: u32,
}

impl Node {
    pub fn file(size: u64, mtime: Option<i64>) -> Self {
        Node { kind: Kind::File, size: Some(size), mtime, precision: 1 }
    }

    pub fn dir() -> Self {
        Node { kind: Kind::Dir, size: None, mtime: None, precision: 1 }
    }
}

pub type Tree = BTreeMap<String, Node>;

#[derive(Clone, Debug, Default)]
pub struct Options {
    pub delete: bool,
    pub newer_only: bool,
    pub filter: Filter,
    /// Directories whose listing failed: nothing at or below them is deleted
    /// from the target, since what the source holds there is unknown.
    pub protect: BTreeSet<String>,
}

/// Why a file is (re)transferred.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Why {
    Missing,
    SizeDiffers,
    SourceNewer,
    /// The times differ (the target is newer, and `newer_only` is off).
    TimeDiffers,
    /// Neither size nor time is known on both sides.
    Unknown,
}

/// Why a source entry is not transferred.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SkipReason {
    /// Same size and same time within the listings' precision.
    Same,
    /// Same size; the source gives no time to compare.
    SameSize,
    /// The target copy is newer and `newer_only` is set.
    TargetNewer,
    /// A link or special file: not copied.
    NotRegular,
}

impl SkipReason {
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::Same => "same size and time",
            SkipReason::SameSize => "same size",
            SkipReason::TargetNewer => "target is newer",
            SkipReason::NotRegular => "not a regular file",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    Mkdir(String),
    Transfer {
        path: String,
        size: Option<u64>,
        mtime: Option<i64>,
        why: Why,
    },
    Skip {
        path: String,
        reason: SkipReason,
    },
    /// Removes a target entry; `dir` says whether it is a directory (emptied
    /// by the deletes ordered before it).
    Delete {
        path: String,
        dir: bool,
    },
    /// Source and target disagree on what the path is (a file against a
    /// directory) and `delete` is off: reported as a failure, nothing done below it.
    Conflict {
        path: String,
        reason: String,
    },
}

impl Action {
    pub fn path(&self) -> &str {
        match self {
            Action::Mkdir(p) => p,
            Action::Transfer { path, .. }
            | Action::Skip { path, .. }
            | Action::Delete { path, .. }
            | Action::Conflict { path, .. } => path,
        }
    }
}

fn depth(path: &str) -> usize {
    path.bytes().filter(|&b| b == b'/').count()
}

fn parent(path: &str) -> Option<&str> {
    path.rfind('/').map(|i| &path[..i])
}

/// Whether `path` lies under (or is) any directory of `dirs`.
fn under_any(path: &str, dirs: &BTreeSet<&str>) -> bool {
    let mut p = path;
    loop {
        if dirs.contains(p) {
            return true;
        }
        match parent(p) {
            Some(up) => p = up,
            None => return false,
        }
    }
}

/// The file a partial copy belongs to: `x.part` (downloads) or
/// `.x.rftplib-part` (atomic uploads), beside it.
fn partial_of(path: &str) -> Option<String> {
    let (dir, name) = match path.rfind('/') {
        Some(i) => (&path[..=i], &path[i + 1..]),
        None => ("", path),
    };
    let file =
        name.strip_suffix(".part").or_else(|| name.strip_prefix('.').and_then(|n| n.strip_suffix(".rftplib-part")))?;
    (!file.is_empty()).then(|| format!("{dir}{file}"))
}

/// Whether some directory above `path` is excluded by the filter.
fn in_excluded_dir(path: &str, filter: &Filter) -> bool {
    let mut p = parent(path);
    while let Some(d) = p {
        if filter.dir_excluded(d) {
            return true;
        }
        p = parent(d);
    }
    false
}

/// Decides whether the file `src` must be copied over `dst`.
pub fn compare(src: &Node, dst: &Node, newer_only: bool) -> Result<SkipReason, Why> {
    if let (Some(a), Some(b)) = (src.size, dst.size) {
        if a != b {
            return Err(Why::SizeDiffers);
        }
    }
    let sizes_known = src.size.is_some() && dst.size.is_some();
    match (src.mtime, dst.mtime) {
        (Some(s), Some(d)) => {
            let tolerance = i64::from(src.precision.max(dst.precision).max(1));
            // A coarse listing truncates, so the finer time may lie up to
            // one unit after it (never before): allow a unit both ways.
            if (s - d).abs() <= tolerance {
                Ok(SkipReason::Same)
            } else if d > s {
                if newer_only {
                    Ok(SkipReason::TargetNewer)
                } else {
                    Err(Why::TimeDiffers)
                }
            } else {
                Err(Why::SourceNewer)
            }
        }
        _ if sizes_known => Ok(SkipReason::SameSize),
        _ => Err(Why::Unknown),
    }
}

/// The actions that make `target` a copy of `source` under `opts`.
pub fn plan(source: &Tree, target: &Tree, opts: &Options) -> Vec<Action> {
    let filter = &opts.filter;
    let protect: BTreeSet<&str> = opts.protect.iter().map(String::as_str).collect();
    let mut conflicts = Vec::new();
    let mut pre_deletes: BTreeSet<&str> = BTreeSet::new(); // target roots removed before copying
    let mut blocked: BTreeSet<&str> = BTreeSet::new(); // source dirs not entered
    let mut excluded: BTreeSet<&str> = BTreeSet::new(); // source dirs excluded by the filter
    let mut mkdirs = Vec::new();
    let mut transfers = Vec::new();
    let mut skips = Vec::new();
    let mut wanted_dirs: BTreeSet<&str> = BTreeSet::new();

    // BTreeMap order puts a directory before everything below it.
    for (path, node) in source {
        if under_any(path, &blocked) || under_any(path, &excluded) {
            continue;
        }
        let existing = target.get(path.as_str());
        match node.kind {
            Kind::Dir => {
                if filter.dir_excluded(path) {
                    excluded.insert(path);
                    continue;
                }
                match existing.map(|n| n.kind) {
                    Some(Kind::Dir) => {}
                    None => mkdirs.push(path.as_str()),
                    Some(_) if opts.delete => {
                        pre_deletes.insert(path);
                        mkdirs.push(path.as_str());
                    }
                    Some(_) => {
                        conflicts.push(Action::Conflict {
                            path: path.clone(),
                            reason: "the target is not a directory".into(),
                        });
                        blocked.insert(path);
                    }
                }
                if !filter.has_includes() {
                    wanted_dirs.insert(path);
                }
            }
            Kind::File => {
                if !filter.file_selected(path) {
                    continue;
                }
                let mut p = parent(path);
                while let Some(d) = p {
                    wanted_dirs.insert(d);
                    p = parent(d);
                }
                let decision = match existing {
                    None => Err(Why::Missing),
                    Some(t) if t.kind == Kind::File => compare(node, t, opts.newer_only),
                    Some(_) if opts.delete => {
                        pre_deletes.insert(path);
                        Err(Why::Missing)
                    }
                    Some(_) => {
                        conflicts.push(Action::Conflict {
                            path: path.clone(),
                            reason: "the target is a directory or a link".into(),
                        });
                        continue;
                    }
                };
                match decision {
                    Ok(reason) => skips.push(Action::Skip { path: path.clone(), reason }),
                    Err(why) => {
                        transfers.push(Action::Transfer { path: path.clone(), size: node.size, mtime: node.mtime, why })
                    }
                }
            }
            Kind::Link | Kind::Other => {
                if filter.file_selected(path) {
                    skips.push(Action::Skip { path: path.clone(), reason: SkipReason::NotRegular });
                }
            }
        }
    }

    // Deletes: what the source lacks (or what stands in the way of a copy),
    // never what the filter leaves out, and never a directory that keeps
    // something.
    let mut early: Vec<(&str, bool)> = Vec::new();
    let mut late: Vec<(&str, bool)> = Vec::new();
    let mut kept_dirs: BTreeSet<&str> = BTreeSet::new();
    if opts.delete {
        for (path, node) in target {
            let is_dir = node.kind == Kind::Dir;
            let in_way = under_any(path, &pre_deletes);
            let present = source.get(path.as_str()).is_some_and(|s| (s.kind == Kind::Dir) == is_dir);
            let filtered_out = in_excluded_dir(path, filter)
                || (is_dir && filter.dir_excluded(path))
                || (!is_dir && !filter.file_selected(path));
            // A partial copy left by an interrupted transfer of a file the
            // source still has: the transfer resumes from it, then renames it.
            let partial =
                !is_dir && partial_of(path).is_some_and(|f| source.get(&f).is_some_and(|n| n.kind == Kind::File));
            let protected = partial || under_any(path, &protect);
            let deletable = in_way || (!present && !filtered_out && !protected && !under_any(path, &blocked));
            if deletable {
                if in_way { &mut early } else { &mut late }.push((path, is_dir));
            } else {
                let mut p = parent(path);
                while let Some(d) = p {
                    kept_dirs.insert(d);
                    p = parent(d);
                }
            }
        }
    }
    let order = |v: &mut Vec<(&str, bool)>| {
        v.retain(|&(p, dir)| !dir || !kept_dirs.contains(p));
        // Deepest first; at equal depth, files before directories.
        v.sort_by(|a, b| depth(b.0).cmp(&depth(a.0)).then(a.1.cmp(&b.1)).then(a.0.cmp(b.0)));
    };
    order(&mut early);
    order(&mut late);

    let mut out = conflicts;
    out.extend(early.into_iter().map(|(p, dir)| Action::Delete { path: p.to_owned(), dir }));
    out.extend(mkdirs.into_iter().filter(|d| wanted_dirs.contains(d)).map(|d| Action::Mkdir(d.to_owned())));
    out.extend(transfers);
    out.extend(skips);
    out.extend(late.into_iter().map(|(p, dir)| Action::Delete { path: p.to_owned(), dir }));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(items: &[(&str, Node)]) -> Tree {
        items.iter().map(|(p, n)| (p.to_string(), n.clone())).collect()
    }

    fn opts(delete: bool, newer_only: bool) -> Options {
        Options { delete, newer_only, ..Options::default() }
    }

    fn paths(actions: &[Action], f: impl Fn(&Action) -> bool) -> Vec<&str> {
        actions.iter().filter(|a| f(a)).map(|a| a.path()).collect()
    }

    fn transfers(a: &[Action]) -> Vec<&str> {
        paths(a, |a| matches!(a, Action::Transfer { .. }))
    }

    #[test]
    fn empty_target_gets_everything_dirs_first() {
        let src = tree(&[
            ("a", Node::dir()),
            ("a/b", Node::dir()),
            ("a/b/f", Node::file(3, Some(100))),
            ("a/g", Node::file(1, Some(100))),
            ("top", Node::file(0, None)),
        ]);
        let p = plan(&src, &Tree::new(), &opts(false, true));
        assert_eq!(p.iter().map(|a| a.path()).collect::<Vec<_>>(), ["a", "a/b", "a/b/f", "a/g", "top"],);
        assert!(matches!(p[0], Action::Mkdir(_)) && matches!(p[1], Action::Mkdir(_)));
        assert!(p[2..].iter().all(|a| matches!(a, Action::Transfer { why: Why::Missing, .. })));
    }

    #[test]
    fn second_run_transfers_nothing() {
        let src = tree(&[("d", Node::dir()), ("d/f", Node::file(10, Some(1000))), ("g", Node::file(5, None))]);
        let p = plan(&src, &src.clone(), &opts(true, false));
        assert!(p.iter().all(|a| matches!(a, Action::Skip { .. })), "{p:?}");
        assert_eq!(p.len(), 2);
    }

    #[test]
    fn compare_rules() {
        let f = |size, mtime| Node::file(size, mtime);
        assert_eq!(compare(&f(1, Some(100)), &f(2, Some(100)), true), Err(Why::SizeDiffers));
        assert_eq!(compare(&f(1, Some(100)), &f(1, Some(101)), false), Ok(SkipReason::Same));
        assert_eq!(compare(&f(1, Some(101)), &f(1, Some(100)), false), Ok(SkipReason::Same));
        assert_eq!(compare(&f(1, Some(200)), &f(1, Some(100)), true), Err(Why::SourceNewer));
        assert_eq!(compare(&f(1, Some(100)), &f(1, Some(200)), true), Ok(SkipReason::TargetNewer));
        assert_eq!(compare(&f(1, Some(100)), &f(1, Some(200)), false), Err(Why::TimeDiffers));
        assert_eq!(compare(&f(1, None), &f(1, Some(200)), false), Ok(SkipReason::SameSize));
        let unknown = Node { kind: Kind::File, size: None, mtime: None, precision: 1 };
        assert_eq!(compare(&unknown, &f(1, Some(1)), false), Err(Why::Unknown));
        // A LIST time shown to the minute matches an exact time within that minute.
        let coarse = Node { precision: 60, ..f(1, Some(600)) };
        assert_eq!(compare(&f(1, Some(637)), &coarse, false), Ok(SkipReason::Same));
        assert_eq!(compare(&coarse, &f(1, Some(637)), false), Ok(SkipReason::Same));
        assert_eq!(compare(&f(1, Some(700)), &coarse, true), Err(Why::SourceNewer));
    }

    #[test]
    fn deletes_files_before_dirs_deepest_first_after_copies() {
        let src = tree(&[("keep", Node::file(1, None)), ("new", Node::file(1, None))]);
        let dst = tree(&[
            ("keep", Node::file(1, None)),
            ("old", Node::dir()),
            ("old/x", Node::dir()),
            ("old/x/deep", Node::file(1, None)),
            ("old/f", Node::file(1, None)),
            ("stray", Node::file(1, None)),
        ]);
        let p = plan(&src, &dst, &opts(true, true));
        let dels = paths(&p, |a| matches!(a, Action::Delete { .. }));
        assert_eq!(dels, ["old/x/deep", "old/f", "old/x", "stray", "old"]);
        let first_delete = p.iter().position(|a| matches!(a, Action::Delete { .. })).unwrap();
        let last_transfer = p.iter().rposition(|a| matches!(a, Action::Transfer { .. })).unwrap();
        assert!(last_transfer < first_delete);
        // Without delete nothing goes.
        let p = plan(&src, &dst, &opts(false, true));
        assert!(paths(&p, |a| matches!(a, Action::Delete { .. })).is_empty());
    }

    #[test]
    fn filters_select_files_and_prune_dirs() {
        let src = tree(&[
            ("a.txt", Node::file(1, None)),
            ("b.bin", Node::file(1, None)),
            ("cache", Node::dir()),
            ("cache/c.txt", Node::file(1, None)),
            ("docs", Node::dir()),
            ("docs/d.txt", Node::file(1, None)),
            ("empty", Node::dir()),
        ]);
        let dst = tree(&[("old.txt", Node::file(1, None)), ("old.bin", Node::file(1, None)), ("cache", Node::dir())]);
        let filter = Filter::new(&["*.txt"], &["cache"]).unwrap();
        let p = plan(&src, &dst, &Options { delete: true, newer_only: true, filter, ..Options::default() });
        assert_eq!(transfers(&p), ["a.txt", "docs/d.txt"]);
        // Only directories holding selected files are made with an include list.
        assert_eq!(paths(&p, |a| matches!(a, Action::Mkdir(_))), ["docs"]);
        // old.bin is outside the selection, so it stays; the excluded dir too.
        assert_eq!(paths(&p, |a| matches!(a, Action::Delete { .. })), ["old.txt"]);
    }

    #[test]
    fn excluded_target_files_keep_their_directory() {
        let src = tree(&[("f", Node::file(1, None))]);
        let dst = tree(&[("gone", Node::dir()), ("gone/x.tmp", Node::file(1, None)), ("gone/y", Node::file(1, None))]);
        let filter = Filter::new::<&str>(&[], &["*.tmp"]).unwrap();
        let p = plan(&src, &dst, &Options { delete: true, newer_only: true, filter, ..Options::default() });
        assert_eq!(paths(&p, |a| matches!(a, Action::Delete { .. })), ["gone/y"]);
    }

    #[test]
    fn nothing_below_an_excluded_target_dir_is_deleted() {
        let dst = tree(&[("cache", Node::dir()), ("cache/x", Node::file(1, None)), ("other", Node::file(1, None))]);
        let filter = Filter::new::<&str>(&[], &["cache"]).unwrap();
        let p = plan(&Tree::new(), &dst, &Options { delete: true, newer_only: true, filter, ..Options::default() });
        assert_eq!(paths(&p, |a| matches!(a, Action::Delete { .. })), ["other"]);
    }

    #[test]
    fn type_conflicts() {
        let src = tree(&[("x", Node::file(1, None)), ("d", Node::dir()), ("d/f", Node::file(1, None))]);
        let dst = tree(&[("x", Node::dir()), ("x/inner", Node::file(1, None)), ("d", Node::file(4, None))]);
        let p = plan(&src, &dst, &opts(false, true));
        assert_eq!(paths(&p, |a| matches!(a, Action::Conflict { .. })), ["d", "x"]);
        assert!(transfers(&p).is_empty(), "{p:?}");
        let p = plan(&src, &dst, &opts(true, true));
        let names: Vec<_> = p.iter().map(|a| (a.path(), std::mem::discriminant(a))).collect();
        // The obstacles go first, then the copies.
        assert_eq!(names.iter().map(|n| n.0).collect::<Vec<_>>(), ["x/inner", "d", "x", "d", "d/f", "x"]);
        assert_eq!(paths(&p, |a| matches!(a, Action::Mkdir(_))), ["d"]);
        assert_eq!(transfers(&p), ["d/f", "x"]);
    }

    #[test]
    fn unlisted_dirs_are_protected_from_deletes() {
        let src = tree(&[("d", Node::dir())]);
        let dst = tree(&[("d", Node::dir()), ("d/f", Node::file(1, None)), ("g", Node::file(1, None))]);
        let protect = ["d".to_string()].into_iter().collect();
        let p = plan(&src, &dst, &Options { delete: true, newer_only: true, protect, ..Options::default() });
        assert_eq!(paths(&p, |a| matches!(a, Action::Delete { .. })), ["g"]);
    }

    #[test]
    fn partial_files_of_source_files_are_left_to_resume() {
        let src = tree(&[("f", Node::file(10, None))]);
        let dst = tree(&[
            ("f.part", Node::file(4, None)),
            (".f.rftplib-part", Node::file(4, None)),
            ("gone.part", Node::file(4, None)),
            (".gone.rftplib-part", Node::file(4, None)),
        ]);
        let p = plan(&src, &dst, &opts(true, true));
        assert_eq!(paths(&p, |a| matches!(a, Action::Delete { .. })), [".gone.rftplib-part", "gone.part"]);
    }

    #[test]
    fn links_are_skipped_not_followed() {
        let link = Node { kind: Kind::Link, size: None, mtime: None, precision: 1 };
        let p = plan(&tree(&[("l", link)]), &Tree::new(), &opts(false, true));
        assert_eq!(p, [Action::Skip { path: "l".into(), reason: SkipReason::NotRegular }]);
    }
}
