//! The parsers against the corpus in tests/listings/: LIST and MLSD replies
//! captured from vsftpd, pyftpdlib, pure-ftpd and ProFTPD serving a tree of odd names
//! (expected entries written from the tree itself by capture.py), plus
//! Windows/IIS, EPLF and unusual Unix samples with hand-written expectations.

use std::collections::HashMap;
use std::path::Path;

use super::{parse_listing, Entry};

const CORPUS: &[(&str, bool)] = &[
    ("vsftpd.list", false),
    ("pyftpdlib.list", false),
    ("pyftpdlib.mlsd", true),
    ("pure-ftpd.list", false),
    ("pure-ftpd.mlsd", true),
    ("proftpd.list", false),
    ("proftpd.mlsd", true),
    ("iis.list", false),
    ("eplf.list", false),
    ("unix-odd.list", false),
];

fn read(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/listings").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `*` matches anything, `-` None, `a|b` either.
fn matches(expected: &str, actual: Option<String>) -> bool {
    expected == "*"
        || expected.split('|').any(|alt| if alt == "-" { actual.is_none() } else { actual.as_deref() == Some(alt) })
}

fn check(file: &str, mlsd: bool) {
    let expected_text = String::from_utf8(read(&format!("{file}.expected"))).unwrap();
    let mut lines = expected_text.lines();
    let now: i64 = lines.next().and_then(|l| l.strip_prefix("# now ")).expect("# now line").parse().unwrap();
    let entries = parse_listing(&read(file), mlsd, now);
    let mut by_name: HashMap<&str, &Entry> = HashMap::new();
    for e in &entries {
        assert!(by_name.insert(&e.name, e).is_none(), "{file}: {:?} listed twice", e.name);
    }
    let mut found = 0;
    for line in lines {
        let f: Vec<&str> = line.split('\t').collect();
        let [name, kind, size, modified, target] = f[..] else { panic!("{file}: bad expected line {line:?}") };
        let Some(e) = by_name.get(name) else {
            assert!(kind.starts_with('?'), "{file}: {name:?} missing from {:?}", by_name.keys());
            continue;
        };
        found += 1;
        let kind = kind.trim_start_matches('?');
        assert!(matches(kind, Some(e.kind.as_str().to_owned())), "{file}: {name:?} kind {:?}", e.kind);
        assert!(matches(size, e.size.map(|s| s.to_string())), "{file}: {name:?} size {:?}", e.size);
        assert!(matches(modified, e.modified.map(|m| m.to_string())), "{file}: {name:?} modified {:?}", e.modified);
        assert!(matches(target, e.target.clone()), "{file}: {name:?} target {:?}", e.target);
        assert_eq!(e.raw.is_some(), !mlsd || e.kind == super::EntryKind::Other, "{file}: {name:?} raw");
    }
    assert_eq!(found, entries.len(), "{file}: entries not in the expected list: {:?}", by_name.keys());
}

#[test]
fn corpus() {
    for (file, mlsd) in CORPUS {
        check(file, *mlsd);
    }
}

#[test]
fn corpus_owners_and_permissions() {
    let vsftpd = parse_listing(&read("vsftpd.list"), false, 0);
    let dev = vsftpd.iter().find(|e| e.name == "null-dev").unwrap();
    assert_eq!(dev.permissions.as_deref(), Some("crw-r--r--"));
    assert!(vsftpd.iter().all(|e| e.owner.as_deref().is_some_and(|o| o.parse::<u32>().is_ok())));
    let pure = parse_listing(&read("pure-ftpd.mlsd"), true, 0);
    let sub = pure.iter().find(|e| e.name == "sub dir").unwrap();
    assert_eq!(sub.permissions.as_deref(), Some("drwxr-xr-x"));
    assert!(sub.owner.is_some() && sub.group.is_some());
    let proftpd = parse_listing(&read("proftpd.mlsd"), true, 0);
    let link = proftpd.iter().find(|e| e.name == "link to plain").unwrap();
    assert_eq!(
        (link.kind, link.owner.as_deref(), link.group.as_deref()),
        (super::EntryKind::Link, Some("rftp"), Some("rftp"))
    );
    assert_eq!(link.permissions.as_deref(), Some("lrwxrwxrwx"));
    let pyftpd = parse_listing(&read("pyftpdlib.list"), false, 0);
    let link = pyftpd.iter().find(|e| e.name == "link to plain").unwrap();
    assert_eq!((link.owner.as_deref(), link.permissions.as_deref()), (Some("root"), Some("lrwxrwxrwx")));
}
