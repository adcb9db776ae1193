//! EPLF, the Easily Parsed LIST Format (D. J. Bernstein; publicfile,
//! some embedded servers): `+` facts separated by commas, a tab, the name.
//!
//! ```text
//! +i8388621.29609,m824255902,/,\tdev
//! +i8388621.44468,m839956783,r,s10376,up644,\tRFCEPLF
//! ```

use super::date::digits;
use super::{filemode, Entry, EntryKind};

pub fn parse(line: &str) -> Option<Entry> {
    let (facts, name) = line.strip_prefix('+')?.split_once('\t')?;
    if name.is_empty() {
        return None;
    }
    let mut entry = Entry::new(name, EntryKind::Other);
    let mut mode = None;
    for fact in facts.split(',').filter(|f| !f.is_empty()) {
        let (key, value) = fact.split_at(fact.chars().next()?.len_utf8());
        match key {
            "/" => entry.kind = EntryKind::Dir,
            "r" if entry.kind == EntryKind::Other => entry.kind = EntryKind::File,
            "s" => entry.size = digits(value),
            "m" => entry.modified = digits(value).and_then(|m| i64::try_from(m).ok()),
            "u" => mode = value.strip_prefix('p').and_then(|m| u32::from_str_radix(m, 8).ok()).filter(|m| *m <= 0o7777),
            _ => {}
        }
    }
    let type_char = match entry.kind {
        EntryKind::Dir => 'd',
        EntryKind::File => '-',
        _ => '?',
    };
    entry.permissions = mode.map(|m| filemode(type_char, m));
    Some(entry)
}

#[cfg(test)]
mod tests {
    use super::super::parse_list_line;
    use super::*;

    #[test]
    fn eplf_lines() {
        let d = parse_list_line("+i8388621.29609,m824255902,/,\tdev", 0).unwrap();
        assert_eq!((d.kind, d.name.as_str(), d.modified), (EntryKind::Dir, "dev", Some(824_255_902)));
        let f = parse_list_line("+i8388621.44468,m839956783,r,s10376,up644,\tRFC EPLF\r\n", 0).unwrap();
        assert_eq!((f.kind, f.name.as_str(), f.size), (EntryKind::File, "RFC EPLF", Some(10376)));
        assert_eq!(f.permissions.as_deref(), Some("-rw-r--r--"));
        assert_eq!(f.raw.as_deref(), Some("+i8388621.44468,m839956783,r,s10376,up644,\tRFC EPLF"));
        let o = parse_list_line("+m1,\tneither", 0).unwrap();
        assert_eq!((o.kind, o.name.as_str()), (EntryKind::Other, "neither"));
        assert_eq!(parse_list_line("+/,\t..", 0), None);
        assert_eq!(parse("+/,\t"), None);
        assert_eq!(parse("+r,s1 no tab"), None);
        assert_eq!(parse("+é,\tx").unwrap().kind, EntryKind::Other);
    }
}
