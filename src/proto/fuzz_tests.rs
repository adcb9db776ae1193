//! Property tests: arbitrary bytes and arbitrary chunking never panic, never
//! buffer without bound, and give the same result however the bytes arrive.

use proptest::prelude::*;

use super::address::{parse150, parse227, parse229, parse257};
use super::lines::{CharWidth, LineBuffer};
use super::listing::parse_mlsd_line;
use super::reply::{classify, ReplyAssembler};

/// Splits `data` at the given cut points and feeds it through a LineBuffer.
fn split_lines(data: &[u8], cuts: &[usize], limit: Option<usize>, width: CharWidth) -> Vec<Vec<u8>> {
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (data.len() + 1)).collect();
    cuts.sort_unstable();
    cuts.push(data.len());
    let mut lb = LineBuffer::new();
    let mut out = Vec::new();
    let mut prev = 0;
    for cut in cuts {
        lb.extend(&data[prev..cut]);
        prev = cut;
        while let Some(line) = lb.take_line(limit, width, false) {
            out.push(line.bytes);
        }
        if let Some(limit) = limit {
            // Without a terminator in sight, no more than `limit` characters
            // (at most 4 bytes each) plus one pending CR are ever held.
            assert!(lb.pending().len() <= limit * 4 + 1);
        }
    }
    loop {
        let line = lb.take_line(limit, width, true).expect("EOF always yields a line");
        if line.bytes.is_empty() {
            break;
        }
        out.push(line.bytes);
    }
    out
}

proptest! {
    #[test]
    fn lines_do_not_depend_on_chunking(
        data in proptest::collection::vec(prop_oneof![Just(b'\r'), Just(b'\n'), any::<u8>()], 0..400),
        cuts in proptest::collection::vec(any::<usize>(), 0..12),
        limit in proptest::option::of(1usize..40),
    ) {
        for width in [CharWidth::Utf8, CharWidth::SingleByte] {
            let whole = split_lines(&data, &[], limit, width);
            let chunked = split_lines(&data, &cuts, limit, width);
            prop_assert_eq!(&whole, &chunked);
            // Nothing is lost: removing the terminators gives back the input's non-newline bytes.
            let kept: Vec<u8> = whole.concat().into_iter().filter(|b| *b != b'\n').collect();
            let expected: Vec<u8> = data.iter().copied().filter(|b| *b != b'\r' && *b != b'\n').collect();
            prop_assert_eq!(kept, expected);
        }
    }

    #[test]
    fn lines_respect_the_limit(
        data in proptest::collection::vec(any::<u8>(), 0..400),
        limit in 1usize..40,
    ) {
        for line in split_lines(&data, &[], Some(limit), CharWidth::SingleByte) {
            prop_assert!(line.len() <= limit);
        }
    }

    #[test]
    fn replies_assemble_without_panicking(lines in proptest::collection::vec(".{0,12}", 0..20)) {
        let mut a = ReplyAssembler::new();
        for line in &lines {
            if let Some(reply) = a.push(line) {
                let _ = classify(&reply);
                prop_assert!(reply.starts_with(line.as_str()) || reply.ends_with(line.as_str()));
            }
        }
    }

    #[test]
    fn parsers_never_panic(s in "\\PC{0,60}", digits in "[0-9,()|! ]{0,40}") {
        for text in [s.clone(), format!("150 {s}"), format!("227 {digits}"), format!("229 {digits}"), format!("257 {s}")] {
            let _ = parse150(&text);
            let _ = parse227(&text);
            let _ = parse229(&text);
            let _ = parse257(&text);
            let _ = parse_mlsd_line(&text);
        }
    }

    #[test]
    fn parse227_finds_any_six_numbers(nums in proptest::array::uniform6(0u32..100000), prefix in "[a-zA-Z (]{0,10}") {
        let text = format!("227 {prefix}{},{},{},{},{},{})", nums[0], nums[1], nums[2], nums[3], nums[4], nums[5]);
        let (host, p1, p2) = parse227(&text).unwrap();
        prop_assert_eq!(host, format!("{}.{}.{}.{}", nums[0], nums[1], nums[2], nums[3]));
        prop_assert_eq!(p1.parse::<u32>().unwrap(), nums[4]);
        prop_assert_eq!(p2.parse::<u32>().unwrap(), nums[5]);
    }
}
