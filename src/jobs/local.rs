//! The local side of a download: the `.part` file beside the target, the
//! ranges state file beside it, and the final rename.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::error::{Error, Result};

/// `<target>.part`.
pub fn part_path(target: &Path) -> PathBuf {
    let mut s = target.as_os_str().to_owned();
    s.push(".part");
    PathBuf::from(s)
}

/// `<target>.part.ranges`: what a multi-connection download still misses.
pub fn state_path(part: &Path) -> PathBuf {
    let mut s = part.as_os_str().to_owned();
    s.push(".ranges");
    PathBuf::from(s)
}

pub fn open_part(part: &Path, truncate: bool) -> Result<File> {
    OpenOptions::new().read(true).write(true).create(true).truncate(truncate).open(part).map_err(Error::Local)
}

pub fn write_state(part: &Path, text: &str) -> Result<()> {
    std::fs::write(state_path(part), text).map_err(Error::Local)
}

pub fn read_state(part: &Path) -> Option<String> {
    std::fs::read_to_string(state_path(part)).ok()
}

pub fn remove_state(part: &Path) {
    let _ = std::fs::remove_file(state_path(part));
}

/// Sets a file's modification time to `unix` seconds.
pub fn set_mtime(file: &File, unix: i64) -> Result<()> {
    let t = if unix >= 0 {
        SystemTime::UNIX_EPOCH + Duration::from_secs(unix as u64)
    } else {
        SystemTime::UNIX_EPOCH - Duration::from_secs(unix.unsigned_abs())
    };
    file.set_modified(t).map_err(Error::Local)
}

/// A file's modification time in Unix seconds.
pub fn mtime_of(file: &File) -> Option<i64> {
    let m = file.metadata().ok()?.modified().ok()?;
    Some(match m.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    })
}

/// Moves the finished `.part` onto the target, replacing it.
pub fn commit(part: &Path, target: &Path) -> Result<()> {
    std::fs::rename(part, target).map_err(Error::Local)?;
    remove_state(part);
    Ok(())
}
