//! A blocking FTP session usable from any Rust thread: opened anew from a
//! [`Spec`] (connect, TLS, login, PROT, TYPE I, CWD), or wrapping the user's
//! existing control connection. Every wait is cut into slices so that the
//! job's [`Cancel`] is honoured within one slice.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use crate::client::conn::Conn;
use crate::client::connect::Connecting;
use crate::client::listener::Listener;
use crate::client::tls::{TlsConfig, TlsSession};
use crate::client::wait::Deadline;
use crate::proto::address::{parse150, parse227, parse229, parse257};
use crate::proto::command::{check_line, eprt_command, port_command};
use crate::proto::feat::parse_feat;
use crate::proto::lines::CharWidth;
use crate::proto::reply::{strip_eol, ReplyAssembler};
pub use crate::proto::timeval::{format_time_val, parse_time_val};

use super::cancel::Cancel;
pub use super::data::Data;
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

/// How command lines and replies are encoded on the control connection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Encoding {
    #[default]
    Utf8,
    Latin1,
}

impl Encoding {
    fn encode(self, line: &str) -> Result<Vec<u8>> {
        match self {
            Encoding::Utf8 => Ok(line.as_bytes().to_vec()),
            Encoding::Latin1 => line
                .chars()
                .map(|c| u8::try_from(u32::from(c)).map_err(|_| Error::Unsupported(format!("{c:?} is not latin-1"))))
                .collect(),
        }
    }

    fn decode(self, bytes: &[u8]) -> String {
        match self {
            Encoding::Utf8 => String::from_utf8_lossy(bytes).into_owned(),
            Encoding::Latin1 => bytes.iter().map(|&b| char::from(b)).collect(),
        }
    }

    fn width(self) -> CharWidth {
        match self {
            Encoding::Utf8 => CharWidth::Utf8,
            Encoding::Latin1 => CharWidth::SingleByte,
        }
    }
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
    /// Passive data connections (EPSV/PASV); false: active (PORT/EPRT).
    pub passive: bool,
    /// Use the address in a 227 reply instead of the control connection's peer.
    pub trust_pasv_ipv4: bool,
    /// The directory to change to after login.
    pub cwd: Option<String>,
    pub timeout: Option<Duration>,
    pub encoding: Encoding,
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

pub struct Session {
    ctrl: Arc<Conn>,
    tls: Option<Arc<TlsSession>>,
    prot_p: bool,
    passive: bool,
    trust_pasv_ipv4: bool,
    source: Option<SocketAddr>,
    timeout: Option<Duration>,
    binary: bool,
    encoding: Encoding,
    /// Commands sent whose final (2xx-5xx) reply has not been read yet: what
    /// a job stopped halfway leaves behind, read before the session is
    /// used again.
    pending: std::cell::Cell<usize>,
    /// A passive data connection opened at login, before the transfer was
    /// known; the next [`open_data_pipelined`](Self::open_data_pipelined)
    /// starts its transfer on it.
    ahead: std::cell::Cell<Option<Conn>>,
    /// The server refused a passive command sent together with the
    /// transfer's (see [`open_requested_data`](Self::open_requested_data)).
    together_refused: std::cell::Cell<bool>,
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
            passive: spec.passive,
            trust_pasv_ipv4: spec.trust_pasv_ipv4,
            source: spec.source,
            timeout: spec.timeout,
            binary: false,
            encoding: spec.encoding,
            pending: std::cell::Cell::new(0),
            ahead: std::cell::Cell::new(None),
            together_refused: std::cell::Cell::new(false),
            cancel: cancel.clone(),
            owned: false,
        }
    }

    /// Opens a new session: connect, TLS, login, PBSZ/PROT, TYPE I, CWD.
    pub fn open(spec: &Spec, cancel: &Cancel) -> Result<Session> {
        Self::open_in(spec, cancel, || Ok(spec.cwd.clone()), false)
    }

    /// As [`open`](Self::open), with the directory to change to asked of
    /// `cwd` only once the server has greeted: a job can learn it on
    /// another session while this one connects. Everything after the
    /// greeting (and TLS) goes out in one write, USER, PASS, PBSZ/PROT,
    /// TYPE I and CWD: one round trip for the whole login. vsftpd,
    /// ProFTPD, pure-ftpd and pyftpdlib read them in turn; a server that
    /// asks for ACCT gets the rest again one by one. With `pasv_ahead` (a
    /// session opened for a transfer not known yet), PASV goes out with them
    /// and the data connection is opened at once: the transfer starts one
    /// round trip sooner (see [`open_data_pipelined`](Self::open_data_pipelined)).
    pub fn open_in(
        spec: &Spec,
        cancel: &Cancel,
        cwd: impl FnOnce() -> Result<Option<String>>,
        pasv_ahead: bool,
    ) -> Result<Session> {
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
            passive: spec.passive,
            trust_pasv_ipv4: spec.trust_pasv_ipv4,
            source: spec.source,
            timeout: spec.timeout,
            binary: false,
            encoding: spec.encoding,
            pending: std::cell::Cell::new(0),
            ahead: std::cell::Cell::new(None),
            together_refused: std::cell::Cell::new(false),
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
        let cwd = cwd()?;
        let mut setup = Vec::new();
        if let Some(tls) = &spec.tls {
            setup.push("PBSZ 0".to_owned());
            setup.push(if tls.prot_p { "PROT P" } else { "PROT C" }.to_owned());
        }
        setup.push("TYPE I".to_owned());
        if let Some(cwd) = &cwd {
            setup.push(format!("CWD {cwd}"));
        }
        let mut lines = vec![format!("USER {}", creds.user), format!("PASS {}", creds.passwd)];
        lines.extend(setup.iter().cloned());
        let pasv_ahead = pasv_ahead && spec.passive;
        if pasv_ahead {
            lines.push(if s.ctrl.peer_addr().is_ipv4() { "PASV" } else { "EPSV" }.to_owned());
        }
        s.send_batch(&lines)?;
        let user = s.reply()?;
        let pass = s.reply()?;
        let logged_in = match user.class() {
            // PASS came too early (no password needed): its answer is ignored.
            2 => true,
            3 => match pass.class() {
                2 => true,
                3 => false,
                _ => return Err(Error::Reply(pass.text)),
            },
            _ => return Err(Error::Reply(user.text)),
        };
        if logged_in {
            for _ in &setup {
                check(s.reply()?, 2)?;
            }
        } else {
            // ACCT asked for: what followed PASS was refused; again in order.
            for _ in 0..setup.len() + usize::from(pasv_ahead) {
                s.reply()?;
            }
            s.expect(&format!("ACCT {}", creds.acct), 2)?;
            s.send_batch(&setup)?;
            for _ in &setup {
                check(s.reply()?, 2)?;
            }
        }
        s.prot_p = spec.tls.as_ref().is_some_and(|t| t.prot_p);
        s.binary = true;
        if pasv_ahead && logged_in {
            let r = s.reply()?;
            // Refused, or the connection failed: the transfer asks for a data
            // connection the usual way.
            if matches!(r.code, 227 | 229) {
                match s.connect_ahead(&r) {
                    Ok(conn) => s.ahead.set(Some(conn)),
                    Err(Error::Cancelled) => return Err(Error::Cancelled),
                    Err(_) => {}
                }
            }
        }
        Ok(s)
    }

    fn connect_ahead(&self, r: &Reply) -> Result<Conn> {
        let addr = self.passive_target(r)?;
        let mut connecting = Connecting::start(addr, self.source.map(|a| SocketAddr::new(a.ip(), 0)))?;
        let deadline = self.deadline();
        self.cancel.block(|| connecting.poll(deadline))?;
        Ok(Conn::new(connecting.into_stream()?, self.timeout)?)
    }

    fn start_tls(&self, session: Arc<TlsSession>) -> Result<()> {
        self.ctrl.start_tls(session, false)?;
        let deadline = self.deadline();
        self.cancel.block(|| self.ctrl.handshake(deadline))
    }

    fn deadline(&self) -> Deadline {
        Deadline::after(self.timeout)
    }

    pub fn is_owned(&self) -> bool {
        self.owned
    }

    /// Passive data connections (PASV/EPSV), which the server lets a
    /// client request ahead; false in active mode (PORT/EPRT).
    pub fn is_passive(&self) -> bool {
        self.passive
    }

    pub fn cancel(&self) -> &Cancel {
        &self.cancel
    }

    /// From now on, obey `cancel` (a session opened under a flag of its own
    /// joins the job's).
    pub fn set_cancel(&mut self, cancel: Cancel) {
        self.cancel = cancel;
    }

    /// Sends one command line (CRLF appended).
    pub fn send(&self, line: &str) -> Result<()> {
        check_line(line).map_err(|m| Error::Unsupported(m.to_owned()))?;
        let mut data = self.encoding.encode(line)?;
        data.extend_from_slice(b"\r\n");
        let mut buf = &data[..];
        let deadline = self.deadline();
        // Counted from the first byte: a command cut halfway is owed a reply
        // (an error) all the same, or the connection is lost.
        self.pending.set(self.pending.get() + 1);
        while !buf.is_empty() {
            let n = self.cancel.block(|| self.ctrl.send(buf, deadline))?;
            buf = &buf[n..];
        }
        Ok(())
    }

    /// Sends several command lines in one write, for commands whose replies
    /// are read afterwards in order (pipelining): one round trip for all.
    pub fn send_batch(&self, lines: &[String]) -> Result<()> {
        let mut data = Vec::new();
        for line in lines {
            check_line(line).map_err(|m| Error::Unsupported(m.to_owned()))?;
            data.extend_from_slice(&self.encoding.encode(line)?);
            data.extend_from_slice(b"\r\n");
        }
        let mut buf = &data[..];
        let deadline = self.deadline();
        // Every command is owed its reply from the first byte sent (see send).
        self.pending.set(self.pending.get() + lines.len());
        while !buf.is_empty() {
            let n = self.cancel.block(|| self.ctrl.send(buf, deadline))?;
            buf = &buf[n..];
        }
        Ok(())
    }

    /// Reads one (possibly multi-line) reply.
    pub fn reply(&self) -> Result<Reply> {
        self.reply_within(self.timeout)
    }

    /// As [`reply`](Self::reply), waiting at most `timeout` for each line.
    fn reply_within(&self, timeout: Option<Duration>) -> Result<Reply> {
        let mut assembler = ReplyAssembler::new();
        loop {
            let deadline = Deadline::after(timeout);
            let line = self.cancel.block(|| self.ctrl.read_line(None, self.encoding.width(), deadline))?;
            if line.is_empty() {
                return Err(Error::Eof);
            }
            let text = self.encoding.decode(&line);
            if let Some(full) = assembler.push(strip_eol(&text)) {
                let code = full.get(..3).and_then(|c| c.parse::<u16>().ok()).filter(|c| (100..600).contains(c));
                return match code {
                    Some(code) => {
                        if code >= 200 {
                            self.pending.set(self.pending.get().saturating_sub(1));
                        }
                        Ok(Reply { code, text: full })
                    }
                    None => Err(Error::Proto(full)),
                };
            }
        }
    }

    /// Reads replies up to the next final (2xx-5xx) one, which it returns.
    pub fn final_reply(&self) -> Result<Reply> {
        loop {
            let r = self.reply()?;
            if r.code >= 200 {
                return Ok(r);
            }
        }
    }

    /// Whether the server refused a passive command sent in one write with
    /// the transfer's (the plain way was taken then).
    pub fn together_refused(&self) -> bool {
        self.together_refused.get()
    }

    /// How many commands sent still wait for their final reply.
    pub fn owed(&self) -> usize {
        self.pending.get()
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
        size_of_reply(self.cmd(&format!("SIZE {path}"))?)
    }

    /// Whether TYPE I has been sent on this session.
    pub fn is_binary(&self) -> bool {
        self.binary
    }

    /// Sends `lines` in one write and returns their replies in order,
    /// whatever they are: one round trip for commands that do not depend on
    /// each other's answers. An accepted `TYPE I` among them counts as sent.
    pub fn batch(&mut self, lines: &[String]) -> Result<Vec<Reply>> {
        self.send_batch(lines)?;
        let mut replies = Vec::with_capacity(lines.len());
        for line in lines {
            let r = self.reply()?;
            if line == "TYPE I" && r.class() == 2 {
                self.binary = true;
            }
            replies.push(r);
        }
        Ok(replies)
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
                return self.passive_target(&r);
            }
            if r.class() != 5 {
                return Err(Error::Reply(r.text));
            }
        }
        let r = check(self.cmd("EPSV")?, 2)?;
        self.passive_target(&r)
    }

    /// The data address a 227 (PASV) or 229 (EPSV) reply names; the
    /// control connection's peer unless a 227's own address is trusted.
    fn passive_target(&self, r: &Reply) -> Result<SocketAddr> {
        let peer = self.ctrl.peer_addr();
        if r.code == 227 {
            let (host, p1, p2) = parse227(&r.text).map_err(|_| Error::Proto(r.text.clone()))?;
            let port = port_of(p1, p2).ok_or_else(|| Error::Proto(r.text.clone()))?;
            let ip: IpAddr =
                if self.trust_pasv_ipv4 { host.parse().map_err(|_| Error::Proto(r.text.clone()))? } else { peer.ip() };
            return Ok(SocketAddr::new(ip, port));
        }
        let port = parse229(&r.text).map_err(|_| Error::Proto(r.text.clone()))?;
        let port: u16 = port.trim().parse().map_err(|_| Error::Proto(r.text.clone()))?;
        Ok(SocketAddr::new(peer.ip(), port))
    }

    /// The data connection for a transfer whose 1xx reply `r` is in:
    /// the size that reply announced, and TLS when PROT P is on.
    fn finish_data(&self, conn: Conn, r: &Reply) -> Result<(Data, Option<u64>)> {
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

    /// Opens a passive data connection and starts `cmd` on it (after
    /// `REST rest` when given). Returns the connection and the size the
    /// 150 reply announced, if any.
    pub fn open_data(&self, cmd: &str, rest: Option<u64>) -> Result<(Data, Option<u64>)> {
        // A new PASV makes the server forget one opened ahead.
        drop(self.ahead.take());
        let (conn, r) = if self.passive {
            let addr = self.passive_addr()?;
            let mut connecting = Connecting::start(addr, self.source.map(|s| SocketAddr::new(s.ip(), 0)))?;
            let deadline = self.deadline();
            self.cancel.block(|| connecting.poll(deadline))?;
            let conn = Conn::new(connecting.into_stream()?, self.timeout)?;
            (conn, self.start_transfer(cmd, rest)?)
        } else {
            // Active: the server connects to us, after the command.
            let local = self.ctrl.local_addr();
            let listener = Listener::bind_any(local.is_ipv6(), self.timeout)?;
            let port = i64::from(listener.local_addr().port());
            let ip = local.ip().to_string();
            let port_cmd = match local {
                SocketAddr::V4(_) => port_command(&ip, port),
                SocketAddr::V6(_) => eprt_command(2, &ip, port),
            };
            check(self.cmd(&port_cmd)?, 2)?;
            let r = self.start_transfer(cmd, rest)?;
            let deadline = self.deadline();
            let (stream, _) = self.cancel.block(|| listener.accept(deadline))?;
            (Conn::new(stream, self.timeout)?, r)
        };
        self.finish_data(conn, &r)
    }

    /// Like [`open_data`](Self::open_data), with one round trip less: the
    /// passive command (PASV, EPSV over IPv6), REST and `cmd` go out in one
    /// write, and the data connection is opened as soon as the passive reply
    /// is in. Servers queue the transfer command until the connection comes
    /// (vsftpd, pyftpdlib, pure-ftpd, ProFTPD). When the passive command is
    /// refused, the other replies are read and the plain way is tried.
    pub fn open_data_pipelined(&self, cmd: &str, rest: Option<u64>) -> Result<(Data, Option<u64>)> {
        if let Some(conn) = self.ahead.take() {
            // Connected at login: REST and the command in one write.
            let mut lines = Vec::with_capacity(2);
            if let Some(offset) = rest {
                lines.push(format!("REST {offset}"));
            }
            lines.push(cmd.to_owned());
            self.send_batch(&lines)?;
            if rest.is_some() {
                let r = self.reply()?;
                if r.class() != 3 {
                    self.reply()?;
                    return Err(Error::Reply(r.text));
                }
            }
            let mut r = self.reply()?;
            if r.class() == 2 {
                r = self.reply()?;
            }
            let r = check(r, 1)?;
            return self.finish_data(conn, &r);
        }
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
        drop(self.ahead.take());
        if !self.passive {
            // Active mode: the transfer starts in open_requested_data.
            return if before.is_empty() { Ok(()) } else { self.send_batch(before) };
        }
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
        self.open_requested_data_then(cmd, rest, &mut |_| Ok(()))
    }

    /// As [`open_requested_data`](Self::open_requested_data), calling
    /// `connected` once the passive data connection is up and before the
    /// transfer's own replies are read: the moment a job may queue its next
    /// request on a server that reads no command while a transfer runs.
    /// Not called when the passive request was refused (the plain way is
    /// taken then) or in active mode.
    pub fn open_requested_data_then(
        &self,
        cmd: &str,
        rest: Option<u64>,
        connected: &mut dyn FnMut(&Session) -> Result<()>,
    ) -> Result<(Data, Option<u64>)> {
        if !self.passive {
            return self.open_data(cmd, rest);
        }
        let peer = self.ctrl.peer_addr();
        let owed = 1 + usize::from(rest.is_some());
        let drain = |n: usize| -> Result<()> {
            for _ in 0..n {
                self.reply()?;
            }
            Ok(())
        };
        let r = self.reply()?;
        let addr = match (r.code, peer.is_ipv4()) {
            (227, true) | (229, _) => self.passive_target(&r)?,
            _ => {
                drain(owed)?;
                if r.class() == 5 {
                    self.together_refused.set(true);
                    return self.open_data(cmd, rest);
                }
                return Err(Error::Reply(r.text));
            }
        };
        let mut connecting = match Connecting::start(addr, self.source.map(|s| SocketAddr::new(s.ip(), 0))) {
            Ok(c) => c,
            Err(e) => {
                drain(owed)?;
                return Err(e.into());
            }
        };
        let deadline = self.deadline();
        if let Err(e) = self.cancel.block(|| connecting.poll(deadline)) {
            return Err(self.refused_behind(e, rest.is_some()));
        }
        let conn = Conn::new(connecting.into_stream()?, self.timeout)?;
        connected(self)?;
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
        self.finish_data(conn, &r)
    }

    /// Why a requested data connection could not be made: a server that
    /// refused the transfer command (a file it cannot read) may close its
    /// passive port at once (ProFTPD), so the refusal is looked for behind
    /// the connection error, for a short while; found, it is the error and
    /// the session is in step again. Otherwise the connection error.
    fn refused_behind(&self, e: Error, rest: bool) -> Error {
        if matches!(e, Error::Cancelled) {
            return e;
        }
        let wait = Some(self.timeout.unwrap_or(SETTLE).min(SETTLE));
        let read = || -> Result<Reply> {
            loop {
                let r = self.reply_within(wait)?;
                if r.code >= 200 {
                    return Ok(r);
                }
            }
        };
        if rest && !read().is_ok_and(|r| r.class() == 3) {
            return e;
        }
        match read() {
            Ok(r) if matches!(r.class(), 4 | 5) => Error::Reply(r.text),
            _ => e,
        }
    }

    /// REST (when given), then the transfer command; its 1xx reply.
    fn start_transfer(&self, cmd: &str, rest: Option<u64>) -> Result<Reply> {
        if let Some(offset) = rest {
            check(self.cmd(&format!("REST {offset}"))?, 3)?;
        }
        let mut r = self.cmd(cmd)?;
        if r.class() == 2 {
            // Some servers send a 200 before the 150, as ftplib tolerates.
            r = self.reply()?;
        }
        check(r, 1)
    }

    /// After all the data went through: ends the data connection and reads
    /// the transfer's final reply, which must be 2xx.
    pub fn finish(&self, data: Data) -> Result<Reply> {
        data.shutdown()?;
        check(self.reply()?, 2)
    }

    /// Stops a transfer early: closes the data connection, then ABOR and a
    /// NOOP, and reads every reply owed (the transfer's, ABOR's, NOOP's), so
    /// that the session is in step again whatever the server answered.
    pub fn abandon(&self, data: Data) -> Result<()> {
        data.conn.close();
        self.send("ABOR")?;
        self.send("NOOP")?;
        while self.pending.get() > 0 {
            if self.reply()?.class() == 1 {
                // The transfer's 1xx is in already: another one is its end,
                // as pure-ftpd words a transfer cut short ("150 0.013
                // seconds (measured here), ...").
                self.pending.set(self.pending.get().saturating_sub(1));
            }
        }
        Ok(())
    }

    /// After a failed transfer whose control connection may still be in
    /// step: NOOP, and every reply owed (the transfer's 426/226 included).
    /// An error means the session is lost.
    pub fn resync(&self) -> Result<()> {
        self.noop_then_wait()
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
    /// how many final replies to commands sent ahead of it are still to be
    /// read (preliminary 1xx replies among them are skipped);
    /// `store`: the request sends data (STOR), ended at once with none.
    pub fn settle_with_request(mut self, before: usize, cmd: &str, rest: Option<u64>, store: bool) {
        let saved = (self.cancel.clone(), self.timeout);
        self.cancel = Cancel::new();
        self.timeout = Some(self.timeout.unwrap_or(SETTLE).min(SETTLE));
        let ahead = (0..before).try_for_each(|_| self.final_reply().map(drop));
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

    /// NOOP, then every reply still owed, NOOP's included.
    fn noop_then_wait(&self) -> Result<()> {
        self.send("NOOP")?;
        while self.pending.get() > 0 {
            self.reply()?;
        }
        Ok(())
    }

    /// RETR of `len` bytes of `path` from `start` (to the end when `len` is
    /// None) into `sink`; returns the number of bytes written. A range that
    /// stops before the end of the file is ended with ABOR.
    pub fn retr_range(
        &mut self,
        path: &str,
        start: u64,
        len: Option<u64>,
        sink: &mut dyn std::io::Write,
    ) -> Result<u64> {
        self.binary()?;
        let (data, _) = self.open_data(&format!("RETR {path}"), (start > 0).then_some(start))?;
        let mut buf = vec![0u8; 256 * 1024];
        let mut got = 0u64;
        loop {
            let want = match len {
                Some(l) if l - got < buf.len() as u64 => (l - got) as usize,
                _ => buf.len(),
            };
            if want == 0 {
                self.abandon(data)?;
                return Ok(got);
            }
            let n = data.read(&mut buf[..want])?;
            if n == 0 {
                self.finish(data)?;
                return Ok(got);
            }
            sink.write_all(&buf[..n]).map_err(Error::Local)?;
            got += n as u64;
        }
    }

    /// STOR (or APPE with `append`) of everything `source` yields; returns
    /// the number of bytes sent.
    pub fn store(&mut self, path: &str, source: &mut dyn std::io::Read, append: bool) -> Result<u64> {
        self.binary()?;
        let verb = if append { "APPE" } else { "STOR" };
        let (data, _) = self.open_data(&format!("{verb} {path}"), None)?;
        let mut buf = vec![0u8; 256 * 1024];
        let mut sent = 0u64;
        loop {
            let n = source.read(&mut buf).map_err(Error::Local)?;
            if n == 0 {
                break;
            }
            data.write_all(&buf[..n])?;
            sent += n as u64;
        }
        self.finish(data)?;
        Ok(sent)
    }

    /// The raw bytes of a listing command (`"MLSD dir"`, `"LIST -a"`, `"NLST"`).
    pub fn listing(&mut self, cmd: &str) -> Result<Vec<u8>> {
        let (data, _) = self.open_data(cmd, None)?;
        let mut out = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = data.read(&mut buf)?;
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        self.finish(data)?;
        Ok(out)
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

/// SIZE's answer: `Ok(None)` when the server has no SIZE command (500/502),
/// an error for any other refusal (550: no such file).
pub fn size_of_reply(r: Reply) -> Result<Option<u64>> {
    match r.code {
        213 => r.text[3..].trim().parse().map(Some).map_err(|_| Error::Proto(r.text)),
        500 | 502 | 504 => Ok(None),
        _ => Err(Error::Reply(r.text)),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pasv_ports() {
        assert_eq!(port_of("4", "1"), Some(1025));
        assert_eq!(port_of("256", "0"), None);
    }
}
