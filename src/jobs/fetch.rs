//! Many small whole files over one session, each fetched the shortest way:
//! PASV, RETR in one write, the data connection read to its end straight
//! into the local file, then the transfer's 226. What a filesystem's `get`
//! of a tree of small files does per file, with no caller work in between.

use std::io::Write;
use std::path::PathBuf;

use super::error::{Error, Result};
use super::session::Session;

/// What became of a batch: how many files (from the first) were fetched
/// whole, and, if one failed, why and whether the session is still in step
/// (a refusal of RETR leaves it so; a broken connection does not).
pub struct Fetched {
    pub done: usize,
    pub failure: Option<(Error, bool)>,
}

/// Fetches `jobs` (remote path, local path) in turn on `session`, stopping
/// at the first failure. A local file is created (or truncated) only once
/// the server has started sending it.
pub fn fetch_files(session: &Session, jobs: &[(String, PathBuf)]) -> Fetched {
    let mut buf = vec![0u8; 256 * 1024];
    for (i, (remote, local)) in jobs.iter().enumerate() {
        if let Err(e) = fetch_one(session, remote, local, &mut buf) {
            let in_step = matches!(e, Error::Reply(_) | Error::Local(_)) && session.owed() == 0;
            return Fetched { done: i, failure: Some((e, in_step)) };
        }
    }
    Fetched { done: jobs.len(), failure: None }
}

fn fetch_one(session: &Session, remote: &str, local: &PathBuf, buf: &mut [u8]) -> Result<()> {
    session.cancel().check()?;
    let (data, _) = session.open_data_pipelined(&format!("RETR {remote}"), None)?;
    let mut file = match std::fs::File::create(local) {
        Ok(f) => f,
        Err(e) => {
            // The data read and dropped (the files are small): the transfer
            // ends as usual and the session stays in step.
            while data.read(buf)? > 0 {}
            session.finish(data)?;
            return Err(Error::Local(e));
        }
    };
    loop {
        let n = data.read(buf)?;
        if n == 0 {
            break;
        }
        file.write_all(&buf[..n]).map_err(Error::Local)?;
    }
    drop(file);
    session.finish(data)?;
    Ok(())
}
