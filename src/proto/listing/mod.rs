//! Directory listings as structured entries: MLSD facts (RFC 3659) and the
//! LIST dialects servers really send — Unix `ls -l`, Windows/IIS (DOS), EPLF.
//!
//! Every line gives an [`Entry`] or nothing (`total N`, `.`, `..`, blank
//! lines, MLSD's `cdir`/`pdir`); a line no dialect recognises is kept as an
//! entry of kind [`EntryKind::Other`] with its text in `raw`. Nothing here
//! can fail or panic on any input, and nothing reads the clock: year-less
//! Unix dates are resolved against the `now_unix` given by the caller.

mod date;
mod dos;
mod eplf;
mod incremental;
mod mlsd;
mod unix;

pub use date::unix_time;
pub use incremental::ListingParser;
pub use mlsd::{
    facts_text, parse_mlsd_entry, parse_mlsd_entry_lean, parse_mlsd_line, parse_mlst_entry, parse_time_val,
    split_facts, split_mlsd_line,
};
pub use unix::UnixSpans;

/// What a directory entry is. Devices, sockets, pipes and anything a server
/// does not say are `Other`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EntryKind {
    File,
    Dir,
    Link,
    Other,
}

impl EntryKind {
    /// The name Python sees: "file", "dir", "link", "other".
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::File => "file",
            EntryKind::Dir => "dir",
            EntryKind::Link => "link",
            EntryKind::Other => "other",
        }
    }

    pub fn from_name(s: &str) -> Option<Self> {
        match s {
            "file" => Some(EntryKind::File),
            "dir" => Some(EntryKind::Dir),
            "link" => Some(EntryKind::Link),
            "other" => Some(EntryKind::Other),
            _ => None,
        }
    }
}

/// One directory entry, whichever way the server described it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub kind: EntryKind,
    pub size: Option<u64>,
    /// Unix seconds, UTC (servers that list local time are taken as UTC).
    pub modified: Option<i64>,
    /// `ls -l` style, type character included: `-rw-r--r--`, `drwxr-xr-x`.
    pub permissions: Option<String>,
    pub owner: Option<String>,
    pub group: Option<String>,
    /// Where a symbolic link points, when the server says.
    pub target: Option<String>,
    /// MLSD facts, names lowercased, values as sent.
    pub facts: Vec<(String, String)>,
    /// The LIST line this entry came from.
    pub raw: Option<String>,
}

impl Entry {
    pub fn new(name: impl Into<String>, kind: EntryKind) -> Self {
        Entry {
            name: name.into(),
            kind,
            size: None,
            modified: None,
            permissions: None,
            owner: None,
            group: None,
            target: None,
            facts: Vec::new(),
            raw: None,
        }
    }

    /// A line no dialect recognised: its last word as a best-effort name.
    fn other(line: &str) -> Self {
        let name = line.split_ascii_whitespace().next_back().unwrap_or("");
        let mut entry = Entry::new(name, EntryKind::Other);
        entry.raw = Some(line.to_owned());
        entry
    }
}

/// One line of a LIST reply. None for lines that are not entries: blank
/// lines, `total N`, and the `.` and `..` directories.
pub fn parse_list_line(line: &str, now_unix: i64) -> Option<Entry> {
    let line = line.trim_end_matches(['\r', '\n']);
    if line.trim().is_empty() || is_total_line(line) {
        return None;
    }
    let parsed = match line.as_bytes()[0] {
        b'+' => eplf::parse(line),
        b'0'..=b'9' => dos::parse(line),
        _ => None,
    };
    let mut entry = parsed.or_else(|| unix::parse(line, now_unix)).unwrap_or_else(|| Entry::other(line));
    if entry.name == "." || entry.name == ".." {
        return None;
    }
    entry.raw = Some(line.to_owned());
    Some(entry)
}

/// `total 123` (ls), also `Total 123` and `total 1.2M`.
fn is_total_line(line: &str) -> bool {
    let mut words = line.split_ascii_whitespace();
    matches!(words.next(), Some(w) if w.eq_ignore_ascii_case("total"))
        && matches!(words.next(), Some(w) if w.as_bytes()[0].is_ascii_digit())
        && words.next().is_none()
}

/// A whole LIST or MLSD reply: lines split on LF (CR LF or LF), invalid
/// UTF-8 replaced, each line parsed.
pub fn parse_listing(data: &[u8], mlsd: bool, now_unix: i64) -> Vec<Entry> {
    match std::str::from_utf8(data) {
        Ok(text) => parse_listing_text(text, mlsd, now_unix),
        Err(_) => parse_lines(data.split(|&b| b == b'\n').map(String::from_utf8_lossy), mlsd, now_unix),
    }
}

/// Like [`parse_listing`] for a reply already decoded to text.
pub fn parse_listing_text(text: &str, mlsd: bool, now_unix: i64) -> Vec<Entry> {
    parse_lines(text.split('\n'), mlsd, now_unix)
}

fn parse_lines<S: AsRef<str>>(lines: impl Iterator<Item = S>, mlsd: bool, now_unix: i64) -> Vec<Entry> {
    lines
        .filter_map(|line| {
            let line = line.as_ref();
            if mlsd {
                parse_mlsd_entry(line)
            } else {
                parse_list_line(line, now_unix)
            }
        })
        .collect()
}

/// One entry of a bulk listing, in the cheapest form for its line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LeanEntry {
    /// A Unix `ls -l` line kept whole, its fields found by position: one
    /// allocation per entry instead of six.
    Unix(Box<str>, UnixSpans),
    /// Any other line: the entry, and for MLSD its facts text in place of
    /// `facts` (see [`split_facts`]).
    Full(Box<Entry>, Option<String>),
}

impl LeanEntry {
    /// The entry [`parse_list_line`] or [`parse_mlsd_entry`] gives for the line.
    pub fn to_entry(&self) -> Entry {
        match self {
            LeanEntry::Unix(line, spans) => {
                let mut entry = spans.to_entry(line);
                entry.raw = Some(line.to_string());
                entry
            }
            LeanEntry::Full(entry, None) => (**entry).clone(),
            LeanEntry::Full(entry, Some(facts)) => Entry { facts: split_facts(facts), ..(**entry).clone() },
        }
    }
}

/// [`parse_listing`] for bulk use: Unix LIST lines as [`LeanEntry::Unix`],
/// MLSD entries without `facts`, each with its facts text instead.
pub fn parse_listing_lean(data: &[u8], mlsd: bool, now_unix: i64) -> Vec<LeanEntry> {
    let mut out = Vec::new();
    extend_lean(&mut out, data, mlsd, now_unix);
    out
}

/// [`parse_listing_lean`] appending to `out`.
pub fn extend_lean(out: &mut Vec<LeanEntry>, data: &[u8], mlsd: bool, now_unix: i64) {
    // Checking the whole reply at once is cheaper than line by line.
    match std::str::from_utf8(data) {
        Ok(text) => extend_lines_lean(out, text.split('\n'), mlsd, now_unix),
        Err(_) => extend_lines_lean(out, data.split(|&b| b == b'\n').map(String::from_utf8_lossy), mlsd, now_unix),
    }
}

/// [`parse_listing_lean`] for a reply already decoded to text.
pub fn parse_listing_text_lean(text: &str, mlsd: bool, now_unix: i64) -> Vec<LeanEntry> {
    let mut out = Vec::new();
    extend_lines_lean(&mut out, text.split('\n'), mlsd, now_unix);
    out
}

fn extend_lines_lean<S: AsRef<str>>(
    out: &mut Vec<LeanEntry>,
    lines: impl Iterator<Item = S>,
    mlsd: bool,
    now_unix: i64,
) {
    out.extend(lines.filter_map(|line| {
        let line = line.as_ref();
        if mlsd {
            let entry = parse_mlsd_entry_lean(line)?;
            Some(LeanEntry::Full(Box::new(entry), Some(facts_text(line).to_owned())))
        } else {
            parse_list_line_lean(line, now_unix)
        }
    }))
}

/// [`parse_list_line`] as a [`LeanEntry`].
pub fn parse_list_line_lean(line: &str, now_unix: i64) -> Option<LeanEntry> {
    let trimmed = line.trim_end_matches(['\r', '\n']);
    // Lines starting with a digit or '+' are tried as DOS and EPLF first.
    if trimmed.as_bytes().first().is_some_and(|&b| !b.is_ascii_digit() && b != b'+') {
        if let Some(spans) = unix::spans(trimmed, now_unix) {
            let name = &trimmed[spans.name.clone()];
            if name == "." || name == ".." {
                return None;
            }
            return Some(LeanEntry::Unix(trimmed.into(), spans));
        }
    }
    parse_list_line(line, now_unix).map(|entry| LeanEntry::Full(Box::new(entry), None))
}

/// `stat.filemode`-style text for permission bits (`0o4755` -> `rwsr-xr-x`)
/// after a type character.
pub(crate) fn filemode(type_char: char, mode: u32) -> String {
    let mut s = String::with_capacity(10);
    s.push(type_char);
    let special = [(0o4000, 's', 'S'), (0o2000, 's', 'S'), (0o1000, 't', 'T')];
    for (i, (bit, set_x, set_nox)) in special.iter().enumerate() {
        let shift = 6 - 3 * i as u32;
        let rwx = (mode >> shift) & 7;
        s.push(if rwx & 4 != 0 { 'r' } else { '-' });
        s.push(if rwx & 2 != 0 { 'w' } else { '-' });
        s.push(match (mode & bit != 0, rwx & 1 != 0) {
            (true, true) => *set_x,
            (true, false) => *set_nox,
            (false, true) => 'x',
            (false, false) => '-',
        });
    }
    s
}

#[cfg(test)]
mod corpus_tests;
#[cfg(test)]
mod fuzz_tests;

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_795_000_000; // 2026-11-17

    #[test]
    fn skipped_lines() {
        for line in ["", "   ", "\r\n", "total 0", "total 1234", "Total 12", "total 1.2M"] {
            assert_eq!(parse_list_line(line, NOW), None, "{line:?}");
        }
        assert_eq!(parse_list_line("drwxr-xr-x 2 a b 4096 Jan 01 2020 .", NOW), None);
        assert_eq!(parse_list_line("drwxr-xr-x 2 a b 4096 Jan 01 2020 ..", NOW), None);
        assert_eq!(parse_list_line("01-01-20  01:00AM  <DIR>  ..", NOW), None);
        assert!(parse_list_line("drwxr-xr-x 2 a b 4096 Jan 01 2020 ...", NOW).is_some());
        assert!(parse_list_line("-rw-r--r-- 2 a b 4096 Jan 01 2020 total 3", NOW).is_some());
    }

    #[test]
    fn unparseable_lines_are_other_entries() {
        let e = parse_list_line("this is not a listing", NOW).unwrap();
        assert_eq!(e.kind, EntryKind::Other);
        assert_eq!(e.name, "listing");
        assert_eq!(e.raw.as_deref(), Some("this is not a listing"));
        let e = parse_list_line("bare-name.txt\r", NOW).unwrap();
        assert_eq!((e.kind, e.name.as_str()), (EntryKind::Other, "bare-name.txt"));
        assert_eq!(e.raw.as_deref(), Some("bare-name.txt"));
    }

    #[test]
    fn whole_listings() {
        let data = b"total 8\r\ndrwxr-xr-x 2 a b 4096 Jan 01 2020 .\r\n-rw-r--r-- 1 a b 3 Jan 01 2020 x\r\n\r\n";
        let entries = parse_listing(data, false, NOW);
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].name, "x");
        let mlsd = b"type=cdir; .\r\ntype=file;size=3; x\r\ntype=dir; d\xffe\r\n";
        let names: Vec<_> = parse_listing(mlsd, true, NOW).into_iter().map(|e| e.name).collect();
        assert_eq!(names, ["x", "d\u{fffd}e"]);
        assert_eq!(parse_listing_text("type=file; a\nfoo\n", true, NOW).len(), 2);
    }

    #[test]
    fn filemode_like_python() {
        assert_eq!(filemode('-', 0o644), "-rw-r--r--");
        assert_eq!(filemode('d', 0o755), "drwxr-xr-x");
        assert_eq!(filemode('-', 0o4755), "-rwsr-xr-x");
        assert_eq!(filemode('-', 0o2644), "-rw-r-Sr--");
        assert_eq!(filemode('d', 0o1777), "drwxrwxrwt");
        assert_eq!(filemode('d', 0o1776), "drwxrwxrwT");
    }
}
