//! `Session` against a tiny in-memory FTP server on 127.0.0.1 (no Python).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::cancel::Cancel;
use super::session::{Credentials, Encoding, Session, Spec};

type Files = Arc<Mutex<HashMap<String, Vec<u8>>>>;

/// Serves one control connection at a time: USER/PASS, TYPE, CWD, PWD,
/// SIZE, PASV, REST, RETR, STOR, APPE, LIST, NOOP, ABOR, QUIT.
fn serve(files: Files) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for ctrl in listener.incoming().flatten() {
            let files = files.clone();
            std::thread::spawn(move || session(ctrl, files));
        }
    });
    addr
}

fn session(ctrl: TcpStream, files: Files) {
    let mut out = ctrl.try_clone().unwrap();
    let mut reply = |s: &str| {
        let _ = out.write_all(format!("{s}\r\n").as_bytes());
    };
    reply("220 tiny");
    let mut pasv: Option<TcpListener> = None;
    let mut rest = 0usize;
    for line in BufReader::new(ctrl).lines() {
        let Ok(line) = line else { return };
        let (verb, arg) = line.split_once(' ').unwrap_or((&line, ""));
        match verb {
            "USER" => reply("331 pass"),
            "PASS" if arg == "secret" => reply("230 in"),
            "PASS" => reply("530 no"),
            "TYPE" | "NOOP" => reply("200 ok"),
            "CWD" => reply("250 ok"),
            "PWD" => reply("257 \"/\""),
            "ABOR" => reply("225 nothing to abort"),
            "QUIT" => return reply("221 bye"),
            "SIZE" => match files.lock().unwrap().get(arg) {
                Some(d) => reply(&format!("213 {}", d.len())),
                None => reply("550 no such file"),
            },
            "PASV" => {
                let l = TcpListener::bind("127.0.0.1:0").unwrap();
                let p = l.local_addr().unwrap().port();
                pasv = Some(l);
                reply(&format!("227 Entering Passive Mode (127,0,0,1,{},{})", p >> 8, p & 255));
            }
            "REST" => {
                rest = arg.parse().unwrap();
                reply("350 ok");
            }
            "RETR" | "LIST" => {
                let data = if verb == "LIST" {
                    let names: Vec<String> = files.lock().unwrap().keys().cloned().collect();
                    names.join("\r\n").into_bytes()
                } else {
                    match files.lock().unwrap().get(arg) {
                        Some(d) => d[rest.min(d.len())..].to_vec(),
                        None => {
                            reply("550 no such file");
                            continue;
                        }
                    }
                };
                rest = 0;
                reply("150 here");
                let (mut conn, _) = pasv.take().unwrap().accept().unwrap();
                match conn.write_all(&data) {
                    Ok(()) => {
                        drop(conn);
                        reply("226 done");
                    }
                    // pure-ftpd words the end of a transfer cut short with a 150.
                    Err(_) if arg.starts_with("pure") => {
                        reply("150 0.013 seconds (measured here), 1.00 Mbytes per second")
                    }
                    Err(_) => reply("426 aborted"),
                }
            }
            "STOR" | "APPE" => {
                reply("150 send");
                let (mut conn, _) = pasv.take().unwrap().accept().unwrap();
                let mut got = Vec::new();
                conn.read_to_end(&mut got).unwrap();
                let mut f = files.lock().unwrap();
                let entry = f.entry(arg.to_owned()).or_default();
                if verb == "STOR" {
                    entry.clear();
                }
                entry.extend_from_slice(&got);
                reply("226 stored");
            }
            _ => reply("500 ?"),
        }
    }
}

fn spec(addr: std::net::SocketAddr, passwd: &str) -> Spec {
    Spec {
        addr,
        host: "127.0.0.1".into(),
        source: None,
        credentials: Some(Credentials { user: "u".into(), passwd: passwd.into(), acct: String::new() }),
        tls: None,
        passive: true,
        trust_pasv_ipv4: false,
        cwd: Some("/".into()),
        timeout: Some(Duration::from_secs(5)),
        encoding: Encoding::Utf8,
    }
}

fn server_with(name: &str, data: Vec<u8>) -> (Files, std::net::SocketAddr) {
    let files: Files = Arc::new(Mutex::new(HashMap::from([(name.to_owned(), data)])));
    let addr = serve(files.clone());
    (files, addr)
}

#[test]
fn open_retr_ranges_and_whole() {
    let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let (_, addr) = server_with("f", data.clone());
    let mut s = Session::open(&spec(addr, "secret"), &Cancel::new()).unwrap();
    assert_eq!(s.size("f").unwrap(), Some(data.len() as u64));
    let mut whole = Vec::new();
    assert_eq!(s.retr_range("f", 0, None, &mut whole).unwrap(), data.len() as u64);
    assert_eq!(whole, data);
    // A range that stops early is ABORted and the session stays in step.
    let mut part = Vec::new();
    s.retr_range("f", 1000, Some(5000), &mut part).unwrap();
    assert_eq!(part, &data[1000..6000]);
    assert_eq!(s.pwd().unwrap(), "/");
    s.close();
}

#[test]
fn store_append_and_list() {
    let (files, addr) = server_with("a", b"xyz".to_vec());
    let mut s = Session::open(&spec(addr, "secret"), &Cancel::new()).unwrap();
    assert_eq!(s.store("b", &mut &b"hello "[..], false).unwrap(), 6);
    s.store("b", &mut &b"world"[..], true).unwrap();
    assert_eq!(files.lock().unwrap()["b"], b"hello world");
    let listing = String::from_utf8(s.listing("LIST").unwrap()).unwrap();
    let mut names: Vec<&str> = listing.split("\r\n").collect();
    names.sort();
    assert_eq!(names, ["a", "b"]);
}

#[test]
fn refused_login_is_a_refusal() {
    let (_, addr) = server_with("f", vec![]);
    let err = Session::open(&spec(addr, "wrong"), &Cancel::new()).err().unwrap();
    assert!(err.is_refusal());
    assert!(!err.is_transient());
}

#[test]
fn missing_file_is_a_permanent_error() {
    let (_, addr) = server_with("f", vec![]);
    let mut s = Session::open(&spec(addr, "secret"), &Cancel::new()).unwrap();
    let err = s.size("nope").err().unwrap();
    assert_eq!(err.code(), Some(550));
    assert!(!err.is_transient());
    let err = s.retr_range("nope", 0, None, &mut Vec::new()).err().unwrap();
    assert_eq!(err.code(), Some(550));
}

#[test]
fn cancelled_before_connecting() {
    let (_, addr) = server_with("f", vec![]);
    let cancel = Cancel::new();
    cancel.cancel();
    assert!(matches!(Session::open(&spec(addr, "secret"), &cancel), Err(super::Error::Cancelled)));
}

#[test]
fn an_abort_ended_with_a_150_leaves_the_session_in_step() {
    let data: Vec<u8> = (0..16_000_000u32).map(|i| (i % 253) as u8).collect();
    let (_, addr) = server_with("pure.bin", data.clone());
    let mut s = Session::open(&spec(addr, "secret"), &Cancel::new()).unwrap();
    let mut part = Vec::new();
    s.retr_range("pure.bin", 10, Some(1000), &mut part).unwrap();
    assert_eq!(part, &data[10..1010]);
    assert_eq!(s.pwd().unwrap(), "/");
    assert_eq!(s.size("pure.bin").unwrap(), Some(data.len() as u64));
}

#[test]
fn a_data_connection_opened_with_the_login_carries_the_first_transfer() {
    let data: Vec<u8> = (0..100_000u32).map(|i| (i % 241) as u8).collect();
    let (_, addr) = server_with("f", data.clone());
    let cancel = Cancel::new();
    let s = Session::open_in(&spec(addr, "secret"), &cancel, || Ok(Some("/".into())), true).unwrap();
    let (conn, _) = s.open_data_pipelined("RETR f", Some(500)).unwrap();
    let mut got = Vec::new();
    let mut buf = vec![0u8; 65536];
    loop {
        let n = conn.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    s.finish(conn).unwrap();
    assert_eq!(got, &data[500..]);
    // The next transfer asks for a data connection the usual way.
    let (conn, _) = s.open_data_pipelined("RETR f", Some(99_000)).unwrap();
    let n = conn.read(&mut buf).unwrap();
    assert!(n > 0 && buf[..n] == data[99_000..99_000 + n]);
    s.abandon(conn).unwrap();
    assert_eq!(s.pwd().unwrap(), "/");
}

#[test]
fn upload_sends_the_same_bytes_with_sendfile_or_write() {
    use super::job::Job;
    use super::upload::{upload, Source, UploadOptions};

    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i * 13 % 251) as u8).collect();
    let path = std::env::temp_dir().join(format!("rftplib-upload-modes-{}", std::process::id()));
    std::fs::write(&path, &data).unwrap();
    let (files, addr) = server_with("other", vec![]);
    // Some(true): sendfile; Some(false): write(); None: write() here, as the
    // server is on this host.
    for (i, sendfile) in [Some(true), Some(false), None].into_iter().enumerate() {
        let job = Job {
            spec: spec(addr, "secret"),
            cancel: Cancel::new(),
            progress: Default::default(),
            rate: None,
            retries: 0,
            backoff: Default::default(),
            features: vec![("REST".into(), "STREAM".into())],
        };
        let first = Session::open(&job.spec, &job.cancel).unwrap();
        let name = format!("up{i}");
        let opts = UploadOptions {
            remote: name.clone(),
            resume: false,
            atomic: false,
            verify: false,
            mtime: None,
            blocksize: 64 * 1024 + 1,
            sendfile,
        };
        let out = upload(&job, first, &opts, Source::File(std::fs::File::open(&path).unwrap())).unwrap();
        assert_eq!(out.bytes, data.len() as u64, "{sendfile:?}");
        assert!(files.lock().unwrap()[&name] == data, "{sendfile:?}");
    }
    std::fs::remove_file(&path).unwrap();
}
