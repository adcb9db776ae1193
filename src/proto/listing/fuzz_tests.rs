//! Property tests: no input makes a listing parser panic, and well-formed
//! lines give back exactly the name, size and kind they were made from.

use proptest::prelude::*;

use super::{
    facts_text, parse_list_line, parse_list_line_lean, parse_listing, parse_listing_lean, parse_mlsd_entry,
    parse_mlsd_entry_lean, split_facts, Entry, EntryKind,
};

/// Pieces real listings are made of, so that random lines often get deep
/// into the parsers instead of failing at the first word.
fn listing_word() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("-rw-r--r--".to_owned()),
        Just("drwxr-xr-x+".to_owned()),
        Just("lrwxrwxrwx".to_owned()),
        Just("crw-rw-rw-".to_owned()),
        Just("Feb".to_owned()),
        Just("29".to_owned()),
        Just("12:00".to_owned()),
        Just("2024".to_owned()),
        Just("1,".to_owned()),
        Just("<DIR>".to_owned()),
        Just("02-29-24".to_owned()),
        Just("03:04PM".to_owned()),
        Just("->".to_owned()),
        Just("+i1,m99999999999999999999,/,\t".to_owned()),
        Just("type=cdir;".to_owned()),
        Just("unix.mode=07777;modify=20240229240000;".to_owned()),
        "[0-9]{1,25}",
        "\\PC{0,6}",
    ]
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..600), now in any::<i64>()) {
        for mlsd in [false, true] {
            for entry in parse_listing(&data, mlsd, now) {
                prop_assert!(entry.name != "." && entry.name != "..");
            }
        }
    }

    #[test]
    fn lean_parsing_loses_nothing(
        words in proptest::collection::vec(listing_word(), 0..8),
        now in any::<i64>(),
    ) {
        let line = words.join(";");
        match (parse_mlsd_entry(&line), parse_mlsd_entry_lean(&line)) {
            (Some(full), Some(lean)) => {
                prop_assert_eq!(&split_facts(facts_text(&line)), &full.facts);
                prop_assert_eq!(Entry { facts: full.facts.clone(), ..lean }, full);
            }
            (full, lean) => prop_assert_eq!(full, lean),
        }
        let data = format!("{line}\r\n{line}\n");
        for mlsd in [false, true] {
            let lean: Vec<Entry> = parse_listing_lean(data.as_bytes(), mlsd, now).iter().map(|e| e.to_entry()).collect();
            prop_assert_eq!(lean, parse_listing(data.as_bytes(), mlsd, now));
        }
    }

    #[test]
    fn long_lines_parse_alike_lean_or_not(
        words in proptest::collection::vec(listing_word(), 0..40),
        seps in proptest::collection::vec(prop_oneof![Just(" "), Just("  "), Just("\t"), Just("")], 40),
        now in -4_000_000_000i64..4_000_000_000,
    ) {
        // Lines with more words than the parser looks at without allocating.
        let line: String = words.iter().zip(&seps).map(|(w, s)| format!("{w}{s}")).collect();
        let lean = parse_list_line_lean(&line, now).map(|e| e.to_entry());
        prop_assert_eq!(lean, parse_list_line(&line, now));
        let padded = format!("-rw-r--r-- {} Feb 29  2024 {line}", "x ".repeat(30));
        let lean = parse_list_line_lean(&padded, now).map(|e| e.to_entry());
        prop_assert_eq!(lean, parse_list_line(&padded, now));
    }

    #[test]
    fn listing_shaped_lines_never_panic(
        words in proptest::collection::vec(listing_word(), 0..14),
        seps in proptest::collection::vec(prop_oneof![Just(" "), Just("  "), Just("\t"), Just("")], 14),
        now in any::<i64>(),
    ) {
        let line: String = words.iter().zip(&seps).map(|(w, s)| format!("{w}{s}")).collect();
        if let Some(e) = parse_list_line(&line, now) {
            prop_assert_eq!(e.raw.as_deref(), Some(line.trim_end_matches(['\r', '\n'])));
        }
        let _ = parse_mlsd_entry(&line);
    }

    #[test]
    fn unix_lines_give_back_their_fields(
        name in "[^\r\n]{1,30}",
        size in any::<u64>(),
        dir in any::<bool>(),
        owner in "[a-z][a-z0-9]{0,8}",
        pad in 1usize..8,
    ) {
        prop_assume!(name != "." && name != ".." && !name.trim().is_empty());
        let mode = if dir { "drwxr-xr-x" } else { "-rw-r--r--" };
        let line = format!("{mode} 1 {owner} grp{}{size} Feb 29  2024 {name}", " ".repeat(pad));
        let e = parse_list_line(&line, 0).unwrap();
        prop_assert_eq!(&e.name, &name);
        prop_assert_eq!(e.size, Some(size));
        prop_assert_eq!(e.kind, if dir { EntryKind::Dir } else { EntryKind::File });
        prop_assert_eq!(e.owner.as_deref(), Some(owner.as_str()));
        prop_assert_eq!(e.modified, Some(1_709_164_800));
    }

    #[test]
    fn mlsd_lines_give_back_their_names(name in "[^\r\n]{1,30}", size in any::<u64>()) {
        prop_assume!(name != "." && name != "..");
        let e = parse_mlsd_entry(&format!("type=file;size={size}; {name}")).unwrap();
        prop_assert_eq!(e.name, name);
        prop_assert_eq!(e.size, Some(size));
    }
}
