//! Unix `ls -l` style LIST lines (vsftpd, ProFTPD, pure-ftpd, pyftpdlib,
//! most NAS boxes):
//!
//! ```text
//! -rw-r--r--    1 1000     1000         5 May 17  2020 name with spaces
//! crw-rw-rw-+   1 root     root      1,   3 Nov 20 14:02 null
//! lrwxrwxrwx    1 ftp      ftp          6 Feb 29 09:00 link -> target
//! drwxr-xr-x    2 owner             4096 2024-02-29 15:04 no-group, iso date
//! -rw-r--r--    1 u g    7 2024-02-29 15:04:05.123456789 +0100 ls --full-time
//! ```
//!
//! The date is found by shape (month, day, time-or-year), so missing link
//! counts or groups and device numbers do not shift the other fields. The
//! name is everything after the single space that follows the date, leading
//! spaces included.

use super::date::{clock, digits, month_from_name, resolve_yearless, unix_time};
use super::{Entry, EntryKind};

use std::ops::Range;

/// Where the fields of a Unix LIST line are, as byte ranges of the line:
/// what [`parse`] gives, without copying any of it (bulk listings keep the
/// line and read the fields from it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnixSpans {
    pub kind: EntryKind,
    pub size: Option<u64>,
    pub modified: Option<i64>,
    /// The permissions are always the line's first 10 bytes.
    pub name: Range<usize>,
    pub owner: Option<Range<usize>>,
    pub group: Option<Range<usize>>,
    pub target: Option<Range<usize>>,
}

impl UnixSpans {
    pub fn to_entry(&self, line: &str) -> Entry {
        let text = |r: &Option<Range<usize>>| r.as_ref().map(|r| line[r.clone()].to_owned());
        let mut entry = Entry::new(&line[self.name.clone()], self.kind);
        entry.size = self.size;
        entry.modified = self.modified;
        entry.permissions = Some(line[..10].to_owned());
        entry.owner = text(&self.owner);
        entry.group = text(&self.group);
        entry.target = text(&self.target);
        entry
    }
}

pub fn parse(line: &str, now_unix: i64) -> Option<Entry> {
    spans(line, now_unix).map(|s| s.to_entry(line))
}

/// How many words a line's fields are looked for in without allocating:
/// real listings have the date within the first ten.
const STACK_WORDS: usize = 24;

/// The fields of a Unix `ls -l` line, or None if it is not one.
pub fn spans(line: &str, now_unix: i64) -> Option<UnixSpans> {
    // Words are split only up to the date: the name after it may be long.
    let mut stack: [Range<usize>; STACK_WORDS] = std::array::from_fn(|_| 0..0);
    let mut n = 0;
    let mut date = None;
    let complete = for_each_word(line, |r| {
        if n == STACK_WORDS {
            return false;
        }
        if n == 0 && line.get(r.clone()).and_then(kind_of_mode).is_none() {
            return false; // not a mode: not a Unix line
        }
        stack[n] = r;
        n += 1;
        // With three words from i on, whether a date starts at i is settled.
        if n >= 4 {
            date = date_from(line, &stack[..n], n - 3, now_unix);
        }
        date.is_none()
    });
    if n == 0 {
        return None;
    }
    if date.is_none() && complete {
        // The line's last words: dates of one or two words.
        date = (n.saturating_sub(2).max(1)..n).find_map(|i| date_from(line, &stack[..n], i, now_unix));
    }
    if date.is_some() || complete {
        return spans_in(line, &stack[..n], date?);
    }
    let mut all = Vec::with_capacity(2 * STACK_WORDS);
    for_each_word(line, |r| {
        all.push(r);
        true
    });
    let date = (1..all.len()).find_map(|i| date_from(line, &all, i, now_unix))?;
    spans_in(line, &all, date)
}

/// Where the date is: its first word, the time, and where the name starts.
type DateAt = (usize, Option<i64>, usize);

/// A date starting at word `i` of `words` (the words after it as far as known).
fn date_from(line: &str, words: &[Range<usize>], i: usize, now_unix: i64) -> Option<DateAt> {
    if i == 0 {
        return None;
    }
    let word = |k: usize| words.get(k).and_then(|r| line.get(r.clone()));
    let (modified, last) = date_at(word(i)?, word(i + 1), word(i + 2), now_unix)?;
    Some((i, modified, words[i + last].end + 1))
}

/// The fields of a line whose words are `words` (at least up to the date's).
fn spans_in(line: &str, words: &[Range<usize>], (date_at, modified, name_start): DateAt) -> Option<UnixSpans> {
    let mode = line.get(words.first()?.clone())?;
    let kind = kind_of_mode(mode)?;
    let name = line.get(name_start..).filter(|n| !n.is_empty())?;

    let mut spans =
        UnixSpans { kind, size: None, modified, name: name_start..line.len(), owner: None, group: None, target: None };
    // The words between the mode and the date: [link count] owner [group] size.
    let (mut first, mut end) = (1, date_at);
    let field = |k: usize| &line[words[k].clone()];
    // Size, or a device's "major, minor" / "major,minor" (no size then).
    if end - first >= 2 && field(end - 2).ends_with(',') && digits(field(end - 1)).is_some() {
        end -= 2;
    } else if end > first && field(end - 1).contains(',') {
        end -= 1;
    } else if end > first && digits(field(end - 1)).is_some() {
        spans.size = digits(field(end - 1));
        end -= 1;
    }
    if end - first > 2 || (end - first > 1 && digits(field(first)).is_some()) {
        first += 1; // the link count
    }
    spans.owner = (end > first).then(|| words[first].clone());
    spans.group = (end > first + 1).then(|| words[first + 1].clone());
    if kind == EntryKind::Link {
        if let Some(at) = name.find(" -> ") {
            spans.name = name_start..name_start + at;
            spans.target = Some(name_start + at + 4..line.len());
        }
    }
    Some(spans)
}

/// Calls `each` with the byte range of every word (separated by spaces or
/// tabs) until it returns false; true if every word was seen.
fn for_each_word(line: &str, mut each: impl FnMut(Range<usize>) -> bool) -> bool {
    let mut start = None;
    for (i, b) in line.bytes().enumerate() {
        let blank = b == b' ' || b == b'\t';
        match (start, blank) {
            (None, false) => start = Some(i),
            (Some(s), true) => {
                if !each(s..i) {
                    return false;
                }
                start = None;
            }
            _ => {}
        }
    }
    match start {
        Some(s) => each(s..line.len()),
        None => true,
    }
}

/// The entry's kind from `drwxr-xr-x` and the like: a type character, nine
/// permission characters, optionally an ACL/attribute mark (`+`, `.`, `@`).
fn kind_of_mode(mode: &str) -> Option<EntryKind> {
    let b = mode.as_bytes();
    if b.len() < 10 || b.len() > 11 {
        return None;
    }
    if !b[1..10].iter().all(|c| matches!(c, b'r' | b'w' | b'x' | b's' | b'S' | b't' | b'T' | b'l' | b'L' | b'-')) {
        return None;
    }
    if b.len() == 11 && !b"+.@*".contains(&b[10]) {
        return None;
    }
    match b[0] {
        b'-' => Some(EntryKind::File),
        b'd' => Some(EntryKind::Dir),
        b'l' => Some(EntryKind::Link),
        b'c' | b'b' | b'p' | b's' | b'D' | b'n' | b'?' => Some(EntryKind::Other),
        _ => None,
    }
}

/// A date starting at `first`: `Mon DD HH:MM`, `Mon DD YYYY`, or ISO
/// `YYYY-MM-DD HH:MM[:SS[.fraction]] [+hhmm]`. Gives the time (None if the date is impossible,
/// like 30 February) and the index, relative to `first`, of its last word.
fn date_at(first: &str, second: Option<&str>, third: Option<&str>, now_unix: i64) -> Option<(Option<i64>, usize)> {
    if let Some(month) = month_from_name(first) {
        let day = digits(second?).filter(|d| (1..=31).contains(d))? as u32;
        let third = third?;
        if let Some((h, m, _)) = clock(third) {
            return Some((resolve_yearless(month, day, h, m, now_unix), 2));
        }
        let year = digits(third).filter(|_| third.len() == 4)?;
        return Some((unix_time(year as i64, month, day, 0, 0, 0), 2));
    }
    let b = first.as_bytes();
    if b.len() == 10 && b[4] == b'-' && b[7] == b'-' {
        let (y, m, d) = (digits(&first[..4])?, digits(&first[5..7])?, digits(&first[8..])?);
        // `ls --full-time`: seconds with a fraction, then the zone offset.
        let time = second?;
        let (h, mi, s) = clock(time.split_once('.').map_or(time, |(whole, _)| whole))?;
        let t = unix_time(y as i64, m as u32, d as u32, h, mi, s);
        return match third.and_then(zone_offset) {
            Some(offset) => Some((t.map(|t| t - offset), 2)),
            None => Some((t, 1)),
        };
    }
    None
}

/// `+0100` / `-0530` as seconds east of UTC.
fn zone_offset(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 5 || !(b[0] == b'+' || b[0] == b'-') {
        return None;
    }
    let (h, m) = (digits(&s[1..3])? as i64, digits(&s[3..])? as i64);
    if h > 14 || m > 59 {
        return None;
    }
    let offset = h * 3600 + m * 60;
    Some(if b[0] == b'-' { -offset } else { offset })
}

#[cfg(test)]
mod tests {
    use super::super::{parse_list_line, unix_time};
    use super::*;

    fn now() -> i64 {
        unix_time(2026, 11, 27, 10, 0, 0).unwrap()
    }

    fn p(line: &str) -> Entry {
        parse_list_line(line, now()).unwrap_or_else(|| panic!("no entry for {line:?}"))
    }

    #[test]
    fn vsftpd_style() {
        let e = p("-rw-r--r--    1 1000     1000            5 May 17  2020 name with spaces");
        assert_eq!(e.name, "name with spaces");
        assert_eq!(e.kind, EntryKind::File);
        assert_eq!(e.size, Some(5));
        assert_eq!(e.modified, unix_time(2020, 5, 17, 0, 0, 0));
        assert_eq!(e.permissions.as_deref(), Some("-rw-r--r--"));
        assert_eq!((e.owner.as_deref(), e.group.as_deref()), (Some("1000"), Some("1000")));
        assert_eq!(e.raw.as_deref(), Some("-rw-r--r--    1 1000     1000            5 May 17  2020 name with spaces"));
        let d = p("drwxr-xr-x    2 ftp      ftp          4096 Nov 20 14:02 sub");
        assert_eq!((d.kind, d.modified), (EntryKind::Dir, unix_time(2026, 11, 20, 14, 2, 0)));
    }

    #[test]
    fn names_keep_their_spaces() {
        assert_eq!(p("-rw-r--r-- 1 a b 5 May 17  2020  leading").name, " leading");
        assert_eq!(p("-rw-r--r-- 1 a b 5 May 17 12:00   three").name, "  three");
        assert_eq!(p("-rw-r--r-- 1 a b 5 May 17  2020 trailing ").name, "trailing ");
        assert_eq!(p("-rw-r--r-- 1 a b 5 May 17  2020 -dash").name, "-dash");
        assert_eq!(p("-rw-r--r-- 1 a b 5 May 17  2020 a -> b").name, "a -> b");
        assert_eq!(p("-rw-r--r-- 1 a b 5 May 17  2020 Jan 01 2020").name, "Jan 01 2020");
        assert_eq!(p("-rw-r--r-- 1 a b 5 May 17  2020 ünïcødé 名前").name, "ünïcødé 名前");
    }

    #[test]
    fn links() {
        let l = p("lrwxrwxrwx 1 root root 7 Feb 29  2024 bin -> usr/bin");
        assert_eq!((l.kind, l.name.as_str(), l.target.as_deref()), (EntryKind::Link, "bin", Some("usr/bin")));
        assert_eq!(l.modified, unix_time(2024, 2, 29, 0, 0, 0));
        let l = p("lrwxrwxrwx 1 root root 7 Jan  1 10:00 a -> b -> c");
        assert_eq!((l.name.as_str(), l.target.as_deref()), ("a", Some("b -> c")));
        let l = p("lrwxrwxrwx 1 root root 7 Jan  1 10:00 noarrow");
        assert_eq!((l.name.as_str(), l.target), ("noarrow", None));
    }

    #[test]
    fn devices_and_acls() {
        let c = p("crw-rw-rw- 1 root root 1, 3 Nov 20 14:02 null");
        assert_eq!((c.kind, c.size, c.name.as_str()), (EntryKind::Other, None, "null"));
        assert_eq!((c.owner.as_deref(), c.group.as_deref()), (Some("root"), Some("root")));
        let b = p("brw-rw----+  1 root disk   8,0 Nov 20 14:02 sda");
        assert_eq!((b.kind, b.size, b.permissions.as_deref()), (EntryKind::Other, None, Some("brw-rw----")));
        assert_eq!(b.group.as_deref(), Some("disk"));
        let f = p("-rw-r--r--. 1 u g 12 Nov 20 14:02 selinux");
        assert_eq!((f.kind, f.size, f.permissions.as_deref()), (EntryKind::File, Some(12), Some("-rw-r--r--")));
        assert_eq!(p("drwxrwsr-t+ 1 u g 0 Nov 20 14:02 acl").kind, EntryKind::Dir);
        assert_eq!(p("prw-r--r-- 1 u g 0 Nov 20 14:02 fifo").kind, EntryKind::Other);
        assert_eq!(p("srwxrwxrwx 1 u g 0 Nov 20 14:02 sock").kind, EntryKind::Other);
    }

    #[test]
    fn fewer_or_other_columns() {
        let e = p("-rw-r--r-- 1 owner 1234 Jan 01 2020 nogroup");
        assert_eq!((e.owner.as_deref(), e.group, e.size), (Some("owner"), None, Some(1234)));
        let e = p("-rw-r--r-- owner group 1234 Jan 01 2020 nolinks");
        assert_eq!((e.owner.as_deref(), e.group.as_deref()), (Some("owner"), Some("group")));
        let e = p("-rw-r--r-- 1 user group 18446744073709551615 Jan 01 2020 huge");
        assert_eq!(e.size, Some(u64::MAX));
        let e = p("-rw-r--r-- 1 user group 184467440737095516150 Jan 01 2020 huger");
        assert_eq!((e.kind, e.size), (EntryKind::File, None));
        let e = p("-rw-r--r-- 1 user group 7 2024-02-29 15:04 iso");
        assert_eq!((e.name.as_str(), e.modified), ("iso", unix_time(2024, 2, 29, 15, 4, 0)));
        let e = p("-rw-r--r-- 1 u g 7 2024-02-29 15:04:05.123456789 +0100 full time");
        assert_eq!((e.name.as_str(), e.modified), ("full time", unix_time(2024, 2, 29, 14, 4, 5)));
        let e = p("-rw-r--r-- 1 u g 7 2024-02-29 15:04:05 -0530 west");
        assert_eq!((e.name.as_str(), e.modified), ("west", unix_time(2024, 2, 29, 20, 34, 5)));
        let e = p("-rw-r--r-- 1 u g 7 2024-02-29 15:04 +01 not a zone");
        assert_eq!((e.name.as_str(), e.modified), ("+01 not a zone", unix_time(2024, 2, 29, 15, 4, 0)));
        let e = p("drwxr-xr-x 2 0 0 4096 dec 31 23:59 lower");
        assert_eq!(e.modified, unix_time(2025, 12, 31, 23, 59, 0));
    }

    #[test]
    fn yearless_dates() {
        assert_eq!(p("-rw-r--r-- 1 u g 1 Feb 29 09:00 leap").modified, unix_time(2024, 2, 29, 9, 0, 0));
        assert_eq!(p("-rw-r--r-- 1 u g 1 Nov 27 09:59 today").modified, unix_time(2026, 11, 27, 9, 59, 0));
        assert_eq!(p("-rw-r--r-- 1 u g 1 Dec 01 09:59 later").modified, unix_time(2025, 12, 1, 9, 59, 0));
        let bad = p("-rw-r--r-- 1 u g 1 Feb 30 09:00 nodate");
        assert_eq!((bad.kind, bad.modified, bad.name.as_str()), (EntryKind::File, None, "nodate"));
    }

    #[test]
    fn not_unix() {
        for line in [
            "-rw-r--r-- 1 u g 1 Feb 29 09:00",
            "-rw-r--r-- 1 u g 1 Feb 29 09:00 ",
            "xrw-r--r-- 1 u g 1 Feb 29 09:00 name",
            "-rw-r--r-- 1 u g 1 Feb 32 09:00 name",
            "-rw-r--r--",
            "-rw-r--r-- 1 u g 1 Feb",
        ] {
            let e = p(line);
            assert_eq!(e.kind, EntryKind::Other, "{line:?}");
            assert_eq!(parse(line, now()), None, "{line:?}");
        }
    }
}
