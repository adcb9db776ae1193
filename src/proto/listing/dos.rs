//! Windows/IIS ("MS-DOS" style) LIST lines:
//!
//! ```text
//! 02-29-24  03:04PM       <DIR>          folder name
//! 02-29-2024  03:04PM              1234 file.txt
//! 02-29-24  15:04                 1,234 twenty-four-hour.txt
//! ```
//!
//! Two-digit years below 70 are 20xx, as IIS and ftputil read them. The
//! time is the server's local time, taken as UTC.

use super::date::{clock, digits, unix_time};
use super::{Entry, EntryKind};

pub fn parse(line: &str) -> Option<Entry> {
    let mut rest = line;
    let date = next_word(&mut rest)?;
    let mut time = next_word(&mut rest)?.to_owned();
    let mut size_word = next_word(&mut rest)?;
    // "03:04 PM": the meridiem as its own word.
    if size_word.eq_ignore_ascii_case("AM") || size_word.eq_ignore_ascii_case("PM") {
        time.push_str(size_word);
        size_word = next_word(&mut rest)?;
    }
    let name = rest.trim_start_matches([' ', '\t']);
    if name.is_empty() {
        return None;
    }
    let (year, month, day) = parse_date(date)?;
    let (hour, minute) = parse_time(&time)?;
    let mut entry = match size_word.to_ascii_uppercase().as_str() {
        "<DIR>" => Entry::new(name, EntryKind::Dir),
        "<JUNCTION>" | "<SYMLINK>" | "<SYMLINKD>" => link(name),
        _ => {
            let mut entry = Entry::new(name, EntryKind::File);
            entry.size = Some(digits(&size_word.replace([',', '.'], ""))?);
            entry
        }
    };
    entry.modified = unix_time(year, month, day, hour, minute, 0);
    Some(entry)
}

/// `name [target]`, as `dir` shows junctions and links.
fn link(name: &str) -> Entry {
    let mut entry = Entry::new(name, EntryKind::Link);
    if let Some((n, t)) = name.strip_suffix(']').and_then(|s| s.rsplit_once(" [")) {
        entry.name = n.to_owned();
        entry.target = Some(t.to_owned());
    }
    entry
}

fn next_word<'a>(rest: &mut &'a str) -> Option<&'a str> {
    let s = rest.trim_start_matches([' ', '\t']);
    let end = s.find([' ', '\t']).unwrap_or(s.len());
    if end == 0 {
        return None;
    }
    *rest = &s[end..];
    Some(&s[..end])
}

/// `MM-DD-YY`, `MM-DD-YYYY` (also with `/`), or `YYYY-MM-DD`.
fn parse_date(s: &str) -> Option<(i64, u32, u32)> {
    let parts: Vec<&str> = s.split(['-', '/']).collect();
    let [a, b, c] = parts.as_slice() else { return None };
    let (a, b, c) = (digits(a)?, digits(b)?, digits(c)?);
    let (year, month, day) = match (parts[0].len(), parts[2].len()) {
        (4, 2) => (a, b, c),
        (1 | 2, 4) => (c, a, b),
        (1 | 2, 2) => (if c < 70 { 2000 + c } else { 1900 + c }, a, b),
        _ => return None,
    };
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    Some((year as i64, month as u32, day as u32))
}

/// `03:04PM`, `12:00AM`, or 24-hour `15:04`.
fn parse_time(s: &str) -> Option<(u32, u32)> {
    let upper = s.to_ascii_uppercase();
    let (clock_part, pm) = match (upper.strip_suffix("PM"), upper.strip_suffix("AM")) {
        (Some(c), _) => (c, Some(true)),
        (_, Some(c)) => (c, Some(false)),
        _ => (upper.as_str(), None),
    };
    let (h, m, _) = clock(clock_part)?;
    let hour = match pm {
        None => h,
        Some(_) if h == 0 || h > 12 => return None,
        Some(true) => h % 12 + 12,
        Some(false) => h % 12,
    };
    Some((hour, m))
}

#[cfg(test)]
mod tests {
    use super::super::{parse_list_line, unix_time};
    use super::*;

    fn p(line: &str) -> Entry {
        parse_list_line(line, 0).unwrap_or_else(|| panic!("no entry for {line:?}"))
    }

    #[test]
    fn iis_lines() {
        let d = p("02-29-24  03:04PM       <DIR>          folder name");
        assert_eq!((d.kind, d.name.as_str(), d.size), (EntryKind::Dir, "folder name", None));
        assert_eq!(d.modified, unix_time(2024, 2, 29, 15, 4, 0));
        let f = p("02-29-2024  03:04AM              1234 file.txt");
        assert_eq!((f.kind, f.name.as_str(), f.size), (EntryKind::File, "file.txt", Some(1234)));
        assert_eq!(f.modified, unix_time(2024, 2, 29, 3, 4, 0));
        let f = p("12-31-99  12:00AM                 1,234 midnight.txt");
        assert_eq!((f.size, f.modified), (Some(1234), unix_time(1999, 12, 31, 0, 0, 0)));
        assert_eq!(p("01-01-70  12:30PM  0 noon").modified, unix_time(1970, 1, 1, 12, 30, 0));
        assert_eq!(p("07-04-24  15:04   <dir>   24h").modified, unix_time(2024, 7, 4, 15, 4, 0));
        assert_eq!(p("07-04-24  03:04 PM   5  spaced").modified, unix_time(2024, 7, 4, 15, 4, 0));
        assert_eq!(p("2024-07-04  15:04   <DIR>   iso").kind, EntryKind::Dir);
        assert_eq!(p("02-29-24  03:04PM  1  -dash -> x").name, "-dash -> x");
        assert_eq!(p("02-29-24  03:04PM  1  名前 ü.txt").name, "名前 ü.txt");
        let j = p("02-29-24  03:04PM  <JUNCTION>  Documents [C:\\Users\\x\\Documents]");
        assert_eq!(
            (j.kind, j.name.as_str(), j.target.as_deref()),
            (EntryKind::Link, "Documents", Some("C:\\Users\\x\\Documents"))
        );
        assert_eq!(p("02-29-24  03:04PM  <SYMLINKD>  plain").name, "plain");
        // An impossible date keeps the entry, without a time.
        let e = p("02-30-23  03:04PM       <DIR>          feb30");
        assert_eq!((e.kind, e.modified), (EntryKind::Dir, None));
    }

    #[test]
    fn not_dos() {
        for line in [
            "02-29-24  03:04PM       <DIR>",
            "13-01-24  03:04PM  1 month13",
            "02-29-24  13:04PM  1 pm13",
            "02-29-24  03:04XM  1 xm",
            "02-29-24  03:04PM  1x name",
            "2-2  03:04PM  1 name",
            "1234567 rest",
        ] {
            assert_eq!(parse(line), None, "{line:?}");
            assert_eq!(p(line).kind, EntryKind::Other, "{line:?}");
        }
    }
}
