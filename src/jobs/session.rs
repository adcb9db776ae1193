//! A blocking FTP session usable from any Rust thread: opened anew from a
//! [`Spec`] (connect, TLS, login, PROT, TYPE I, CWD), or wrapping the user's
//! existing control connection. Every wait is cut into slices so that the
//! job's [`Cancel`] is honoured within one slice.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use crate::client::conn::Conn;
use crate::client::connect::Connecting;
use crate::client::tls::{TlsConfig, TlsSession};
use crate::client::wait::Deadline;
use crate::proto::address::{parse150, parse227, parse229, parse257};
use crate::proto::command::check_line;
use crate::proto::feat::parse_feat;
use crate::proto::lines::CharWidth;
use crate::proto::reply::{strip_eol, ReplyAssembler};

use super::cancel::Cancel;
use super::error::{Error, Result};

/// The longest [`Session::settle`] waits for the server.
const SETTLE: Duration = Duration::from_secs(2);

/// What a login needs, kept in Rust memory only.
#[derive(Clone)]
pub struct Credentials {
    pub user: String,
    pub passwd: String,
    pub acct: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({:?}, ***)", self.user)
    }
}

/// FTPS settings of a session.
#[derive(Clone, Debug)]
pub struct TlsSpec {
    pub config: TlsConfig,
    /// TLS from the first byte (implicit FTPS) rather than AUTH TLS.
    pub implicit: bool,
    /// Data connections under TLS (PROT P) rather than clear (PROT C).
    pub prot_p: bool,
}

/// Everything needed to open another session like an existing one.
#[derive(Clone, Debug)]
pub struct Spec {
    pub addr: SocketAddr,
    /// The name the user connected to (TLS SNI and certificate check).
    pub host: String,
    pub source: Option<SocketAddr>,
    pub credentials: Option<Credentials>,
    pub tls: Option<TlsSpec>,
    /// Use the address in a 227 reply instead of the control connection's peer.
    pub trust_pasv_ipv4: bool,
    /// The directory to change to after login.
    pub cwd: Option<String>,
    pub timeout: Option<Duration>,
}

/// One complete reply.
#[derive(Clone, Debug)]
pub struct Reply {
    pub code: u16,
    pub text: String,
}

impl Reply {
    pub fn class(&self) -> u16 {
        self.code / 100
    }
}

/// A data connection opened by [`Session::open_data`].
pub struct Data {
    conn: Conn,
    cancel: Cancel,
    timeout: Option<Duration>,
}

impl Data {
    /// Reads up to `buf.len()` bytes; 0 at the end of the data.
    pub fn read(&self, buf: &mut [u8]) -> Result<usize> {
        let deadline = Deadline::after(self.timeout);
        self.cancel.block(|| self.conn.recv(buf, deadline))
    }

    /// Moves up to `len` bytes into `pipe_w` without a copy through user
    /// space; None when this connection cannot (TLS).
    pub fn splice_to_pipe(&self, pipe_w: i32, len: usize) -> Result<Option<usize>> {
        let deadline = Deadline::after(self.timeout);
        self.cancel.block(|| self.conn.splice_to_pipe(pipe_w, len, deadline))
    }

    pub fn write_all(&self, mut buf: &[u8]) -> Result<()> {
        let deadline = Deadline::after(self.timeout);
        while !buf.is_empty() {
            let n = self.cancel.block(|| self.conn.send(buf, deadline))?;
            buf = &buf[n..];
        }
        Ok(())
    }

    pub fn is_tls(&self) -> bool {
        self.conn.is_tls()
    }

    /// The socket's descriptor, for zero-copy transfers on plain connections.
    pub fn fileno(&self) -> i32 {
        self.conn.fileno()
    }

    /// Ends the data connection cleanly (TLS close_notify, as ftplib's
    /// `unwrap()`), then closes it.
    fn shutdown(self) -> Result<()> {
        if self.conn.is_tls() {
            let deadline = Deadline::after(self.timeout);
            let r = self.cancel.block(|| self.conn.tls_shutdown(deadline));
            self.conn.close();
            r?;
        }
        self.conn.close();
        Ok(())
    }
}

pub struct Session {
    ctrl: Arc<Conn>,
    tls: Option<Arc<TlsSession>>,
    prot_p: bool,
    trust_pasv_ipv4: bool,
    source: Option<SocketAddr>,
    timeout: Option<Duration>,
    binary: bool,
    cancel: Cancel,
    /// Opened by the job (closed with QUIT at the end), not the user's.
    owned: bool,
}

impl Session {
    /// Wraps the user's logged-in control connection. Its TLS session, if
    /// any, is the one data connections resume.
    pub fn wrap(ctrl: Arc<Conn>, prot_p: bool, spec: &Spec, cancel: &Cancel) -> Session {
        let tls = ctrl.tls_session();
        Session {
            ctrl,
            tls,
            prot_p,
            trust_pasv_ipv4: spec.trust_pasv_ipv4,
            source: spec.source,
            timeout: spec.timeout,
            binary: false,
            cancel: cancel.clone(),
            owned: false,
        }
    }

    /// Opens a new session: connect, TLS, login, PBSZ/PROT, TYPE I, CWD.
    pub fn open(spec: &Spec, cancel: &Cancel) -> Result<Session> {
        let Some(creds) = &spec.credentials else {
            return Err(Error::Unsupported("no credentials to open another session: log in with login() first".into()));
        };
        let mut connecting = Connecting::start(spec.addr, spec.source)?;
        let deadline = Deadline::after(spec.timeout);
        cancel.block(|| connecting.poll(deadline))?;
        let conn = Arc::new(Conn::new(connecting.into_stream()?, spec.timeout)?);
        let mut s = Session {
            ctrl: conn,
            tls: None,
            prot_p: false,
            trust_pasv_ipv4: spec.trust_pasv_ipv4,
            source: spec.source,
            timeout: spec.timeout,
            binary: false,
            cancel: cancel.clone(),
            owned: true,
        };
        if let Some(tls) = &spec.tls {
            let session = Arc::new(TlsSession::new(&tls.config, &spec.host).map_err(crate::client::Error::Tls)?);
            if tls.implicit {
                s.start_tls(session.clone())?;
            }
            s.tls = Some(session);
        }
        let mut greeting = s.reply()?;
        while greeting.class() == 1 {
            greeting = s.reply()?;
        }
        check(greeting, 2)?;
        if let (Some(tls), Some(session)) = (&spec.tls, s.tls.clone()) {
            if !tls.implicit {
                s.expect("AUTH TLS", 2)?;
                s.start_tls(session)?;
            }
        }
        s.login(creds)?;
        if let Some(tls) = &spec.tls {
            s.expect("PBSZ 0", 2)?;
            s.expect(if tls.prot_p { "PROT P" } else { "PROT C" }, 2)?;
            s.prot_p = tls.prot_p;
        }
        s.binary()?;
        if let Some(cwd) = &spec.cwd {
            s.expect(&format!("CWD {cwd}"), 2)?;
        }
        Ok(s)
    }

    fn start_tls(&self, session: Arc<TlsSession>) -> Result<()> {
        self.ctrl.start_tls(session, false)?;
        let deadline = self.deadline();
        self.cancel.block(|| self.ctrl.handshake(deadline))
    }

    fn login(&self, c: &Credentials) -> Result<()> {
        let mut r = self.cmd(&format!("USER {}", c.user))?;
        if r.class() == 3 {
            r = self.cmd(&format!("PASS {}", c.passwd))?;
        }
        if r.class() == 3 {
            r = self.cmd(&format!("ACCT {}", c.acct))?;
        }
        check(r, 2).map(drop)
    }

    fn deadline(&self) -> Deadline {
        Deadline::after(self.timeout)
    }

    pub fn is_owned(&self) -> bool {
        self.owned
    }

    pub fn cancel(&self) -> &Cancel {
        &self.cancel
    }

    /// Sends one command line (CRLF appended).
    pub fn send(&self, line: &str) -> Result<()> {
        check_line(line).map_err(|m| Error::Unsupported(m.to_owned()))?;
        let data = format!("{line}\r\n");
        let mut buf = data.as_bytes();
        let deadline = self.deadline();
        while !buf.is_empty() {
            let n = self.cancel.block(|| self.ctrl.send(buf, deadline))?;
            buf = &buf[n..];
        }
        Ok(())
    }

    /// Sends several command lines in one write, for commands whose replies
    /// are read afterwards in order (pipelining): one round trip for all.
    pub fn send_batch(&self, lines: &[String]) -> Result<()> {
        let mut data = String::new();
        for line in lines {
            check_line(line).map_err(|m| Error::Unsupported(m.to_owned()))?;
            data.push_str(line);
            data.push_str("\r\n");
        }
        let mut buf = data.as_bytes();
        let deadline = self.deadline();
        while !buf.is_empty() {
            let n = self.cancel.block(|| self.ctrl.send(buf, deadline))?;
            buf = &buf[n..];
        }
        Ok(())
    }

    /// Reads one (possibly multi-line) reply.
    pub fn reply(&self) -> Result<Reply> {
        let mut assembler = ReplyAssembler::new();
        loop {
            let deadline = self.deadline();
            let line = self.cancel.block(|| self.ctrl.read_line(None, CharWidth::Utf8, deadline))?;
            if line.is_empty() {
                return Err(Error::Eof);
            }
            let text = String::from_utf8_lossy(&line);
            if let Some(full) = assembler.push(strip_eol(&text)) {
                let code = full.get(..3).and_then(|c| c.parse::<u16>().ok()).filter(|c| (100..600).contains(c));
                return match code {
                    Some(code) => Ok(Reply { code, text: full }),
                    None => Err(Error::Proto(full)),
                };
            }
        }
    }

    /// Sends a command and returns its reply, whatever it is.
    pub fn cmd(&self, line: &str) -> Result<Reply> {
        self.send(line)?;
        self.reply()
    }

    /// Sends a command and expects a reply of the given class (2 for 2xx).
    pub fn expect(&self, line: &str, class: u16) -> Result<Reply> {
        check(self.cmd(line)?, class)
    }

    /// `TYPE I`, once per session.
    pub fn binary(&mut self) -> Result<()> {
        if !self.binary {
            self.expect("TYPE I", 2)?;
            self.binary = true;
        }
        Ok(())
    }

    pub fn feat(&self) -> Result<Vec<(String, String)>> {
        let r = self.cmd("FEAT")?;
        Ok(if r.class() == 2 { parse_feat(&r.text) } else { Vec::new() })
    }

    /// SIZE: `Ok(None)` when the server has no SIZE command (500/502),
    /// an error for any other refusal (550: no such file).
    pub fn size(&self, path: &str) -> Result<Option<u64>> {
        let r = self.cmd(&format!("SIZE {path}"))?;
        match r.code {
            213 => r.text[3..].trim().parse().map(Some).map_err(|_| Error::Proto(r.text)),
            500 | 502 | 504 => Ok(None),
            _ => Err(Error::Reply(r.text)),
        }
    }

    /// MDTM as Unix seconds (UTC); None when unsupported or unparsable.
    pub fn mdtm(&self, path: &str) -> Result<Option<i64>> {
        let r = self.cmd(&format!("MDTM {path}"))?;
        if r.code != 213 {
            return Ok(None);
        }
        Ok(parse_time_val(r.text[3..].trim()))
    }

    /// The facts of `MLST path`, None when unsupported.
    pub fn mlst(&self, path: &str) -> Result<Option<Vec<(String, String)>>> {
        let r = self.cmd(&format!("MLST {path}"))?;
        if r.code != 250 {
            return Ok(None);
        }
        let Some(line) = r.text.lines().nth(1) else { return Ok(None) };
        let facts_part = line.trim_start().split(' ').next().unwrap_or("");
        Ok(Some(
            facts_part
                .split(';')
                .filter_map(|f| f.split_once('='))
                .map(|(k, v)| (k.to_ascii_lowercase(), v.to_owned()))
                .collect(),
        ))
    }

    /// PWD's directory.
    pub fn pwd(&self) -> Result<String> {
        let r = self.expect("PWD", 2)?;
        parse257(&r.text).map_err(|_| Error::Proto(r.text))
    }

    fn passive_addr(&self) -> Result<SocketAddr> {
        let peer = self.ctrl.peer_addr();
        if peer.is_ipv4() {
            let r = self.cmd("PASV")?;
            if r.code == 227 {
                let (host, p1, p2) = parse227(&r.text).map_err(|_| Error::Proto(r.text.clone()))?;
                let port = port_of(p1, p2).ok_or_else(|| Error::Proto(r.text.clone()))?;
                let ip: IpAddr = if self.trust_pasv_ipv4 {
                    host.parse().map_err(|_| Error::Proto(r.text.clone()))?
                } else {
                    peer.ip()
                };
                return Ok(SocketAddr::new(ip, port));
            }
            if r.class() != 5 {
                return Err(Error::Reply(r.text));
            }
        }
        let r = check(self.cmd("EPSV")?, 2)?;
        let port = parse229(&r.text).map_err(|_| Error::Proto(r.text.clone()))?;
        let port: u16 = port.trim().parse().map_err(|_| Error::Proto(r.text.clone()))?;
        Ok(SocketAddr::new(peer.ip(), port))
    }

    /// Opens a passive data connection and starts `cmd` on it (after
    /// `REST rest` when given). Returns the connection and the size the
    /// 150 reply announced, if any.
    pub fn open_data(&self, cmd: &str, rest: Option<u64>) -> Result<(Data, Option<u64>)> {
        let addr = self.passive_addr()?;
        let mut connecting = Connecting::start(addr, self.source.map(|s| SocketAddr::new(s.ip(), 0)))?;
        let deadline = self.deadline();
        self.cancel.block(|| connecting.poll(deadline))?;
        let conn = Conn::new(connecting.into_stream()?, self.timeout)?;
        if let Some(offset) = rest {
            check(self.cmd(&format!("REST {offset}"))?, 3)?;
        }
        let mut r = self.cmd(cmd)?;
        if r.class() == 2 {
            // Some servers send a 200 before the 150, as ftplib tolerates.
            r = self.reply()?;
        }
        let r = check(r, 1)?;
        let size = match parse150(&r.text) {
            Ok(Some(digits)) => digits.parse().ok(),
            _ => None,
        };
        let data = Data { conn, cancel: self.cancel.clone(), timeout: self.timeout };
        if self.prot_p {
            let session = self.tls.clone().ok_or_else(|| Error::Unsupported("PROT P without TLS".into()))?;
            data.conn.start_tls(session, true)?;
            let deadline = self.deadline();
            self.cancel.block(|| data.conn.handshake(deadline))?;
        }
        Ok((data, size))
    }

    /// Like [`open_data`](Self::open_data), with one round trip less: the
    /// passive command (PASV, EPSV over IPv6), REST and `cmd` go out in one
    /// write, and the data connection is opened as soon as the passive reply
    /// is in. Servers queue the transfer command until the connection comes
    /// (vsftpd, pyftpdlib, pure-ftpd, ProFTPD). When the passive command is
    /// refused, the other replies are read and the plain way is tried.
    pub fn open_data_pipelined(&self, cmd: &str, rest: Option<u64>) -> Result<(Data, Option<u64>)> {
        self.request_data(cmd, rest)?;
        self.open_requested_data(cmd, rest)
    }

    /// The first half of [`open_data_pipelined`](Self::open_data_pipelined):
    /// sends the passive command, REST and `cmd` in one write. The server
    /// reads them once it is done with what came before, so a job that
    /// knows what it fetches next can send this while the previous transfer
    /// is still ending (see [`open_requested_data`](Self::open_requested_data)).
    pub fn request_data(&self, cmd: &str, rest: Option<u64>) -> Result<()> {
        self.request_data_after(&[], cmd, rest)
    }

    /// As [`request_data`](Self::request_data), with `before` (commands
    /// whose replies the caller reads first) in the same write.
    pub fn request_data_after(&self, before: &[String], cmd: &str, rest: Option<u64>) -> Result<()> {
        let peer = self.ctrl.peer_addr();
        let mut lines = before.to_vec();
        lines.push(if peer.is_ipv4() { "PASV" } else { "EPSV" }.to_owned());
        if let Some(offset) = rest {
            lines.push(format!("REST {offset}"));
        }
        lines.push(cmd.to_owned());
        self.send_batch(&lines)
    }

    /// The second half: reads the replies to what [`request_data`](Self::request_data)
    /// sent (with the same `cmd` and `rest`) and opens the data connection.
    pub fn open_requested_data(&self, cmd: &str, rest: Option<u64>) -> Result<(Data, Option<u64>)> {
        let peer = self.ctrl.peer_addr();
        let pending = 1 + usize::from(rest.is_some());
        let drain = |n: usize| -> Result<()> {
            for _ in 0..n {
                self.reply()?;
            }
            Ok(())
        };
        let r = self.reply()?;
        let addr = match (r.code, peer.is_ipv4()) {
            (227, true) => {
                let (host, p1, p2) = parse227(&r.text).map_err(|_| Error::Proto(r.text.clone()))?;
                let port = port_of(p1, p2).ok_or_else(|| Error::Proto(r.text.clone()))?;
                let ip: IpAddr = if self.trust_pasv_ipv4 {
                    host.parse().map_err(|_| Error::Proto(r.text.clone()))?
                } else {
                    peer.ip()
                };
                SocketAddr::new(ip, port)
            }
            (229, _) => {
                let port = parse229(&r.text).map_err(|_| Error::Proto(r.text.clone()))?;
                let port: u16 = port.trim().parse().map_err(|_| Error::Proto(r.text.clone()))?;
                SocketAddr::new(peer.ip(), port)
            }
            _ => {
                drain(pending)?;
                if r.class() == 5 {
                    return self.open_data(cmd, rest);
                }
                return Err(Error::Reply(r.text));
            }
        };
        let mut connecting = match Connecting::start(addr, self.source.map(|s| SocketAddr::new(s.ip(), 0))) {
            Ok(c) => c,
            Err(e) => {
                drain(pending)?;
                return Err(e.into());
            }
        };
        let deadline = self.deadline();
        self.cancel.block(|| connecting.poll(deadline))?;
        let conn = Conn::new(connecting.into_stream()?, self.timeout)?;
        if rest.is_some() {
            let r = self.reply()?;
            if r.class() != 3 {
                drain(1)?;
                return Err(Error::Reply(r.text));
            }
        }
        let mut r = self.reply()?;
        if r.class() == 2 {
            r = self.reply()?;
        }
        let r = check(r, 1)?;
        let size = match parse150(&r.text) {
            Ok(Some(digits)) => digits.parse().ok(),
            _ => None,
        };
        let data = Data { conn, cancel: self.cancel.clone(), timeout: self.timeout };
        if self.prot_p {
            let session = self.tls.clone().ok_or_else(|| Error::Unsupported("PROT P without TLS".into()))?;
            data.conn.start_tls(session, true)?;
            let deadline = self.deadline();
            self.cancel.block(|| data.conn.handshake(deadline))?;
        }
        Ok((data, size))
    }

    /// After all the data went through: ends the data connection and reads
    /// the transfer's final reply, which must be 2xx.
    pub fn finish(&self, data: Data) -> Result<Reply> {
        data.shutdown()?;
        check(self.reply()?, 2)
    }

    /// Stops a transfer early: closes the data connection, then ABOR and a
    /// NOOP, and reads replies up to NOOP's 200, so that the session is in
    /// step again whatever the server answered to the transfer and to ABOR.
    pub fn abandon(&self, data: Data) -> Result<()> {
        data.conn.close();
        self.send("ABOR")?;
        self.send("NOOP")?;
        self.until_noop()
    }

    /// After a failed transfer whose control connection may still be in
    /// step: NOOP, and every reply up to its 200 (the transfer's pending
    /// 426/226 included). An error means the session is lost.
    pub fn resync(&self) -> Result<()> {
        self.send("NOOP")?;
        self.until_noop()
    }

    /// Brings the user's control connection back in step after a job
    /// stopped in the middle of a transfer (cancelled or failed), even when
    /// the job was cancelled: a resync bounded by a short timeout, and the
    /// connection closed if that fails, so that no stale reply is ever read
    /// as the answer to a later command. Sessions the job opened are
    /// simply closed.
    pub fn settle(mut self) {
        if self.owned {
            self.close();
            return;
        }
        let saved = (self.cancel.clone(), self.timeout);
        self.cancel = Cancel::new();
        self.timeout = Some(self.timeout.unwrap_or(SETTLE).min(SETTLE));
        if self.resync().is_err() {
            self.kill();
        }
        (self.cancel, self.timeout) = saved;
    }

    /// As [`settle`](Self::settle), for a session with a data request out
    /// (sent by [`request_data`](Self::request_data) with these `cmd` and
    /// `rest`) that nothing will read: its data connection is opened and
    /// dropped first, so that the server is done with the request (a server
    /// waiting for that connection reads no further command). `before`:
    /// how many replies to commands sent ahead of it are still to be read;
    /// `store`: the request sends data (STOR), ended at once with none.
    pub fn settle_with_request(mut self, before: usize, cmd: &str, rest: Option<u64>, store: bool) {
        let saved = (self.cancel.clone(), self.timeout);
        self.cancel = Cancel::new();
        self.timeout = Some(self.timeout.unwrap_or(SETTLE).min(SETTLE));
        let ahead = (0..before).try_for_each(|_| self.reply().map(drop));
        let requested = ahead.and_then(|()| self.open_requested_data(cmd, rest));
        let in_step = match requested {
            // Wait for the first bytes (or the end) before dropping it: some
            // servers (pyftpdlib) leak the file of a transfer aborted before
            // its data connection was accepted.
            // A store ends with what was sent: nothing.
            Ok((data, _)) if store => self.finish(data).is_ok() || self.resync().is_ok(),
            Ok((data, _)) => {
                let mut buf = vec![0u8; 64 * 1024];
                match data.read(&mut buf) {
                    Ok(0) => self.finish(data).is_ok() || self.resync().is_ok(),
                    _ => self.abandon(data).is_ok(),
                }
            }
            // Refused: every reply to the request has been read.
            Err(Error::Reply(_)) => true,
            Err(_) => false,
        };
        (self.cancel, self.timeout) = saved;
        if !in_step {
            self.kill();
        }
        self.settle();
    }

    fn until_noop(&self) -> Result<()> {
        // NOOP's 200 is the only 200 a transfer or ABOR can be answered
        // with here (they get 150/225/226/426/451).
        while self.reply()?.code != 200 {}
        Ok(())
    }

    /// QUIT without waiting long for the answer, then close (owned sessions).
    pub fn close(self) {
        if self.owned {
            let _ = self.send("QUIT");
            self.ctrl.close();
        }
    }

    /// Closes the control connection whoever owns it (it is out of step).
    pub fn kill(&self) {
        self.ctrl.close();
    }
}

/// `Ok(reply)` if it is of the class, else the reply as an error.
pub fn check(r: Reply, class: u16) -> Result<Reply> {
    if r.class() == class {
        Ok(r)
    } else {
        Err(Error::Reply(r.text))
    }
}

fn port_of(p1: &str, p2: &str) -> Option<u16> {
    let (a, b): (u32, u32) = (p1.parse().ok()?, p2.parse().ok()?);
    u16::try_from((a << 8) + b).ok()
}

/// `YYYYMMDDHHMMSS[.sss]` (MDTM, MLST modify) as Unix seconds, UTC.
pub fn parse_time_val(s: &str) -> Option<i64> {
    let s = s.split('.').next()?;
    if s.len() != 14 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = |a: usize, b: usize| s[a..b].parse::<i64>().ok();
    let (y, mo, d, h, mi, se) = (n(0, 4)?, n(4, 6)?, n(6, 8)?, n(8, 10)?, n(10, 12)?, n(12, 14)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    Some(days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se)
}

/// Unix seconds as `YYYYMMDDHHMMSS` (MFMT, SITE UTIME).
pub fn format_time_val(t: i64) -> String {
    let days = t.div_euclid(86400);
    let secs = t.rem_euclid(86400);
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}{m:02}{d:02}{:02}{:02}{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

// Howard Hinnant's civil calendar algorithms.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_vals_round_trip() {
        assert_eq!(parse_time_val("19700101000000"), Some(0));
        assert_eq!(parse_time_val("20240229123456.789"), Some(1709210096));
        assert_eq!(format_time_val(1709210096), "20240229123456");
        assert_eq!(parse_time_val("2024022912345"), None);
        assert_eq!(parse_time_val("20241301000000"), None);
        for t in [0, 1, 86399, 951782400, 4102444800] {
            assert_eq!(parse_time_val(&format_time_val(t)), Some(t));
        }
    }

    #[test]
    fn pasv_ports() {
        assert_eq!(port_of("4", "1"), Some(1025));
        assert_eq!(port_of("256", "0"), None);
    }
}
