//! The local side of a mirror: walking a directory into a [`Tree`], mapping
//! relative paths to local ones, and the local operations of a download
//! mirror (directories, deletes, file times).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::glob::Filter;
use super::plan::{Kind, Node, Tree};

/// `root` joined with a `/`-separated relative path.
pub fn join(root: &Path, rel: &str) -> PathBuf {
    let mut p = root.to_path_buf();
    p.extend(rel.split('/').filter(|c| !c.is_empty()));
    p
}

fn unix_seconds(t: SystemTime) -> Option<i64> {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).ok(),
        Err(e) => i64::try_from(e.duration().as_secs()).ok().map(|s| -s - i64::from(e.duration().subsec_nanos() > 0)),
    }
}

pub fn node_of(meta: &fs::Metadata) -> Node {
    let ft = meta.file_type();
    let kind = if ft.is_symlink() {
        Kind::Link
    } else if ft.is_dir() {
        Kind::Dir
    } else if ft.is_file() {
        Kind::File
    } else {
        Kind::Other
    };
    Node {
        kind,
        size: (kind == Kind::File).then_some(meta.len()),
        mtime: meta.modified().ok().and_then(unix_seconds),
        precision: 1,
    }
}

/// Everything below `root` (links not followed, excluded directories not
/// entered), with the directories that could not be read and why. A
/// missing `root` is an empty tree.
pub fn walk(root: &Path, filter: &Filter) -> io::Result<(Tree, Vec<(String, String)>)> {
    let mut tree = Tree::new();
    let mut errors = Vec::new();
    match fs::symlink_metadata(root) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((tree, errors)),
        Err(e) => return Err(e),
        Ok(m) if !m.is_dir() => {
            return Err(io::Error::new(io::ErrorKind::NotADirectory, format!("{} is not a directory", root.display())))
        }
        Ok(_) => {}
    }
    let mut stack = vec![String::new()];
    while let Some(rel) = stack.pop() {
        let dir = join(root, &rel);
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if rel.is_empty() => return Err(e),
            Err(e) => {
                errors.push((rel, e.to_string()));
                continue;
            }
        };
        for entry in entries {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    errors.push((rel.clone(), e.to_string()));
                    break;
                }
            };
            let name = entry.file_name();
            let Some(name) = name.to_str() else {
                let shown = format!("{rel}/{}", name.to_string_lossy());
                errors.push((shown.trim_start_matches('/').to_owned(), "the name is not UTF-8".into()));
                continue;
            };
            let path = if rel.is_empty() { name.to_owned() } else { format!("{rel}/{name}") };
            let meta = match entry.metadata() {
                Ok(m) => m,
                Err(e) => {
                    errors.push((path, e.to_string()));
                    continue;
                }
            };
            let node = node_of(&meta);
            if node.kind == Kind::Dir && !filter.dir_excluded(&path) {
                stack.push(path.clone());
            }
            tree.insert(path, node);
        }
    }
    Ok((tree, errors))
}

/// Sets a file's modification time (Unix seconds), keeping its access time.
pub fn set_mtime(path: &Path, mtime: i64) -> io::Result<()> {
    let t = if mtime >= 0 {
        UNIX_EPOCH + Duration::from_secs(mtime.unsigned_abs())
    } else {
        UNIX_EPOCH - Duration::from_secs(mtime.unsigned_abs())
    };
    let f = fs::OpenOptions::new().write(true).open(path)?;
    f.set_times(fs::FileTimes::new().set_modified(t))
}

/// Deletes a file, or a directory that the deletes before it emptied.
pub fn remove(path: &Path, dir: bool) -> io::Result<()> {
    if dir {
        fs::remove_dir(path)
    } else {
        fs::remove_file(path)
    }
}

/// Makes a directory; one that already exists is fine.
pub fn mkdir(path: &Path) -> io::Result<()> {
    match fs::create_dir(path) {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && path.is_dir() => Ok(()),
        r => r,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let p = std::env::temp_dir().join(format!("rftplib-local-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).unwrap();
        p
    }

    #[test]
    fn walks_files_dirs_and_links_without_following() {
        let root = scratch("walk");
        fs::create_dir_all(root.join("a b/ünï")).unwrap();
        fs::write(root.join("a b/ünï/-f"), b"hello").unwrap();
        fs::write(root.join("top"), b"").unwrap();
        fs::create_dir(root.join("skip")).unwrap();
        fs::write(root.join("skip/x"), b"x").unwrap();
        std::os::unix::fs::symlink("a b", root.join("link")).unwrap();
        set_mtime(&root.join("top"), 1_000_000).unwrap();
        let filter = Filter::new::<&str>(&[], &["skip"]).unwrap();
        let (tree, errors) = walk(&root, &filter).unwrap();
        assert!(errors.is_empty());
        let kinds: Vec<_> = tree.iter().map(|(p, n)| (p.as_str(), n.kind)).collect();
        assert_eq!(
            kinds,
            [
                ("a b", Kind::Dir),
                ("a b/ünï", Kind::Dir),
                ("a b/ünï/-f", Kind::File),
                ("link", Kind::Link),
                ("skip", Kind::Dir),
                ("top", Kind::File),
            ]
        );
        assert_eq!(tree["a b/ünï/-f"].size, Some(5));
        assert_eq!(tree["top"].mtime, Some(1_000_000));
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn a_missing_root_is_empty_and_a_file_root_is_an_error() {
        let root = scratch("missing");
        assert!(walk(&root.join("nope"), &Filter::default()).unwrap().0.is_empty());
        fs::write(root.join("file"), b"").unwrap();
        assert!(walk(&root.join("file"), &Filter::default()).is_err());
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn join_splits_on_slashes() {
        assert_eq!(join(Path::new("/t"), "a/b c/-d"), Path::new("/t/a/b c/-d"));
        assert_eq!(join(Path::new("/t"), ""), Path::new("/t"));
    }
}
