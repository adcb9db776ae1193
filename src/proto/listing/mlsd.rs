//! MLSD lines (RFC 3659 §7): split exactly as ftplib's `mlsd` does, and
//! read into an [`Entry`] for `scandir`.

use super::date::{digits, unix_time};
use super::{filemode, Entry, EntryKind};

/// Splits one MLSD line into its name and its facts. Fact names are
/// lowercased, values kept; the text after the first space is the name, spaces
/// and semicolons included. Like ftplib, the last character of the facts part
/// (the trailing `;`) is dropped before splitting, so a line without facts
/// yields one empty fact.
pub fn parse_mlsd_line(line: &str) -> (&str, Vec<(String, &str)>) {
    let line = line.trim_end_matches(['\r', '\n']);
    let (facts, name) = line.split_once(' ').unwrap_or((line, ""));
    let facts = match facts.char_indices().next_back() {
        Some((i, _)) => &facts[..i],
        None => facts,
    };
    let entries = facts
        .split(';')
        .map(|fact| {
            let (key, value) = fact.split_once('=').unwrap_or((fact, ""));
            (key.to_lowercase(), value)
        })
        .collect();
    (name, entries)
}

/// One MLSD (or MLST, without its leading space) line as an entry. None
/// for blank lines and for the listed directory itself and its parent
/// (`type=cdir`, `type=pdir`, or the names `.` and `..`).
pub fn parse_mlsd_entry(line: &str) -> Option<Entry> {
    parse_facts_line(line, false, true)
}

/// [`parse_mlsd_entry`] without filling in `facts`, for listings parsed in
/// bulk: two allocations per fact add up over 100,000 entries. The facts
/// text (what precedes the first space) is what [`split_facts`] takes.
pub fn parse_mlsd_entry_lean(line: &str) -> Option<Entry> {
    parse_facts_line(line, false, false)
}

/// The facts of an MLSD/MLST line's facts text (`type=file;size=3;`):
/// names lowercased, values as sent, empty facts skipped.
pub fn split_facts(facts_text: &str) -> Vec<(String, String)> {
    facts_text
        .split(';')
        .filter(|f| !f.is_empty())
        .map(|fact| {
            let (key, value) = fact.split_once('=').unwrap_or((fact, ""));
            (key.to_ascii_lowercase(), value.to_owned())
        })
        .collect()
}

/// The facts text of an MLSD line, as [`parse_mlsd_entry_lean`] leaves it.
pub fn facts_text(line: &str) -> &str {
    line.split_once(' ').map_or("", |(facts, _)| facts)
}

/// The fact line of an MLST reply (RFC 3659 §7.2, without its leading
/// space): like an MLSD line, except that it describes the path asked for,
/// so `cdir`/`pdir` are directories and the name is the last component of
/// the pathname the server gives (`/` for the root).
pub fn parse_mlst_entry(line: &str) -> Option<Entry> {
    let mut entry = parse_facts_line(line, true, true)?;
    let trimmed = entry.name.trim_end_matches('/');
    entry.name = match trimmed.rsplit_once('/') {
        Some((_, last)) => last.to_owned(),
        None if trimmed.is_empty() && !entry.name.is_empty() => "/".to_owned(),
        None => trimmed.to_owned(),
    };
    Some(entry)
}

fn parse_facts_line(line: &str, mlst: bool, keep_facts: bool) -> Option<Entry> {
    let line = line.trim_end_matches(['\r', '\n']);
    if line.trim().is_empty() {
        return None;
    }
    let Some((facts_text, name)) = line.split_once(' ') else {
        let mut entry = Entry::new(line, EntryKind::Other);
        entry.raw = Some(line.to_owned());
        return Some(entry);
    };
    if !mlst && (name == "." || name == "..") {
        return None;
    }
    let mut entry = Entry::new(name, EntryKind::Other);
    let mut type_char = '?';
    let (mut owner, mut group) = ([None, None, None], [None, None, None]);
    let mut mode = None;
    for fact in facts_text.split(';').filter(|f| !f.is_empty()) {
        let (key, value) = fact.split_once('=').unwrap_or((fact, ""));
        let mut key_buf = [0u8; 16];
        match lowercase(key, &mut key_buf) {
            "type" => {
                let mut kind_buf = [0u8; 16];
                let kind = lowercase(value, &mut kind_buf);
                match kind {
                    "file" => (entry.kind, type_char) = (EntryKind::File, '-'),
                    "dir" => (entry.kind, type_char) = (EntryKind::Dir, 'd'),
                    "cdir" | "pdir" if mlst => (entry.kind, type_char) = (EntryKind::Dir, 'd'),
                    "cdir" | "pdir" => return None,
                    _ if value.len() >= 13
                        && (value[..13].eq_ignore_ascii_case("os.unix=slink")
                            || value.get(..15).is_some_and(|v| v.eq_ignore_ascii_case("os.unix=symlink"))) =>
                    {
                        (entry.kind, type_char) = (EntryKind::Link, 'l');
                        // ProFTPD's `OS.unix=slink:/where`: the target, case kept.
                        entry.target = value.split_once(':').map(|(_, t)| t.to_owned()).filter(|t| !t.is_empty());
                    }
                    _ => {}
                }
            }
            "size" => entry.size = digits(value).or(entry.size),
            "sizd" => entry.size = entry.size.or(digits(value)),
            "modify" => entry.modified = parse_time_val(value),
            "unix.mode" => mode = u32::from_str_radix(value, 8).ok().filter(|m| *m <= 0o7777),
            "unix.ownername" => owner[0] = Some(value),
            "unix.owner" => owner[1] = Some(value),
            "unix.uid" => owner[2] = Some(value),
            "unix.groupname" => group[0] = Some(value),
            "unix.group" => group[1] = Some(value),
            "unix.gid" => group[2] = Some(value),
            _ => {}
        }
        if keep_facts {
            entry.facts.push((key.to_ascii_lowercase(), value.to_owned()));
        }
    }
    if entry.name.is_empty() {
        entry.kind = EntryKind::Other;
    }
    entry.permissions = mode.map(|m| filemode(type_char, m));
    entry.owner = owner.into_iter().flatten().next().map(str::to_owned);
    entry.group = group.into_iter().flatten().next().map(str::to_owned);
    if entry.kind == EntryKind::Other {
        entry.raw = Some(line.to_owned());
    }
    Some(entry)
}

/// `s` in ASCII lowercase, through `buf` when it fits (fact names and the
/// types that matter are short); longer text comes back as it is, and then
/// matches no known name, which only long unknown names do anyway.
fn lowercase<'a>(s: &'a str, buf: &'a mut [u8; 16]) -> &'a str {
    if s.len() > buf.len() || !s.bytes().any(|b| b.is_ascii_uppercase()) {
        return s;
    }
    let out = &mut buf[..s.len()];
    out.copy_from_slice(s.as_bytes());
    out.make_ascii_lowercase();
    std::str::from_utf8(out).unwrap_or(s)
}

/// RFC 3659 time-val, `YYYYMMDDHHMMSS[.sss]` in UTC, to Unix seconds
/// (fractions dropped).
pub fn parse_time_val(value: &str) -> Option<i64> {
    let whole = value.split_once('.').map_or(value, |(w, _)| w);
    if whole.len() != 14 || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = |r: std::ops::Range<usize>| whole[r].parse::<u32>().ok();
    unix_time(i64::from(n(0..4)?), n(4..6)?, n(6..8)?, n(8..10)?, n(10..12)?, n(12..14)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_from_facts() {
        let e = parse_mlsd_entry("type=file;size=1024;modify=20240229150405.123;perm=adfrw;unix.mode=0644;UNIX.owner=1000;unix.ownername=ftp;unix.group=50; my file;x.txt\r\n").unwrap();
        assert_eq!(e.name, "my file;x.txt");
        assert_eq!(e.kind, EntryKind::File);
        assert_eq!(e.size, Some(1024));
        assert_eq!(e.modified, unix_time(2024, 2, 29, 15, 4, 5));
        assert_eq!(e.permissions.as_deref(), Some("-rw-r--r--"));
        assert_eq!(e.owner.as_deref(), Some("ftp"));
        assert_eq!(e.group.as_deref(), Some("50"));
        assert_eq!(e.facts[0], ("type".into(), "file".into()));
        assert_eq!(e.facts[5], ("unix.owner".into(), "1000".into()));
        assert_eq!(e.raw, None);
        let d = parse_mlsd_entry("Type=DIR;Sizd=4096;unix.mode=755; sub").unwrap();
        assert_eq!((d.kind, d.size, d.permissions.as_deref()), (EntryKind::Dir, Some(4096), Some("drwxr-xr-x")));
        let l = parse_mlsd_entry("type=OS.unix=symlink;size=6; link").unwrap();
        assert_eq!((l.kind, l.target), (EntryKind::Link, None));
        let l = parse_mlsd_entry("type=OS.unix=slink:/Some/Where;unix.mode=0777; ln").unwrap();
        assert_eq!((l.kind, l.target.as_deref()), (EntryKind::Link, Some("/Some/Where")));
        assert_eq!(l.permissions.as_deref(), Some("lrwxrwxrwx"));
        assert_eq!(parse_mlsd_entry("type=OS.unix=chr-13/29; tty").unwrap().kind, EntryKind::Other);
        assert_eq!(parse_mlsd_entry("type=file; \u{e9}t\u{e9} -> x").unwrap().name, "\u{e9}t\u{e9} -> x");
        assert_eq!(parse_mlsd_entry("type=file;  lead").unwrap().name, " lead");
    }

    #[test]
    fn lines_that_are_not_entries() {
        assert_eq!(parse_mlsd_entry("type=cdir;modify=20240101000000; /home"), None);
        assert_eq!(parse_mlsd_entry("Type=pdir; .."), None);
        assert_eq!(parse_mlsd_entry("type=dir; ."), None);
        assert_eq!(parse_mlsd_entry("\r\n"), None);
        let e = parse_mlsd_entry("garbage").unwrap();
        assert_eq!((e.kind, e.name.as_str(), e.raw.as_deref()), (EntryKind::Other, "garbage", Some("garbage")));
        let e = parse_mlsd_entry("type=dir; ").unwrap();
        assert_eq!(e.kind, EntryKind::Other);
        let e = parse_mlsd_entry("size=x;modify=2024;unix.mode=99999; odd").unwrap();
        assert_eq!((e.size, e.modified, e.permissions), (None, None, None));
    }

    #[test]
    fn lean_entries_and_split_facts() {
        let line = "Type=file;Size=3;UNIX.mode=0644;UNIX.ownername=Bob;X.VeryLongFactNameHere=1; a b";
        let lean = parse_mlsd_entry_lean(line).unwrap();
        let full = parse_mlsd_entry(line).unwrap();
        assert!(lean.facts.is_empty());
        assert_eq!(split_facts(facts_text(line)), full.facts);
        assert_eq!(full.facts[4], ("x.verylongfactnamehere".into(), "1".into()));
        assert_eq!(Entry { facts: full.facts.clone(), ..lean }, full);
        assert_eq!(full.owner.as_deref(), Some("Bob"));
        assert_eq!(facts_text("nospace"), "");
        assert_eq!(parse_mlsd_entry("type=OS.unix=slink; l").unwrap().kind, EntryKind::Link);
        assert_eq!(parse_mlsd_entry("type=OS.unix=sym; l").unwrap().kind, EntryKind::Other);
    }

    #[test]
    fn mlst_lines() {
        let e = parse_mlst_entry("type=file;size=3; /sub/x.txt").unwrap();
        assert_eq!((e.name.as_str(), e.size), ("x.txt", Some(3)));
        let e = parse_mlst_entry("type=cdir;modify=20240101000000; /home/ftp/").unwrap();
        assert_eq!((e.name.as_str(), e.kind), ("ftp", EntryKind::Dir));
        assert_eq!(parse_mlst_entry("type=cdir; /").unwrap().name, "/");
        assert_eq!(parse_mlst_entry("type=pdir; ..").unwrap().kind, EntryKind::Dir);
        assert_eq!(parse_mlst_entry("type=file; a b").unwrap().name, "a b");
    }

    #[test]
    fn time_vals() {
        assert_eq!(parse_time_val("19700101000001"), Some(1));
        assert_eq!(parse_time_val("20240230000000"), None);
        assert_eq!(parse_time_val("2024022900000"), None);
        assert_eq!(parse_time_val("2024022900000a"), None);
    }

    #[test]
    fn typical_line() {
        let (name, facts) = parse_mlsd_line("Type=file;Size=12;Perm=r; my file;x.txt\r\n");
        assert_eq!(name, "my file;x.txt");
        assert_eq!(facts, vec![("type".into(), "file"), ("size".into(), "12"), ("perm".into(), "r")]);
    }

    #[test]
    fn odd_lines_like_ftplib() {
        assert_eq!(parse_mlsd_line(" name"), ("name", vec![(String::new(), "")]));
        assert_eq!(parse_mlsd_line("type==; x").1, vec![("type".into(), "=")]);
        assert_eq!(parse_mlsd_line("nospace").0, "");
    }
}
