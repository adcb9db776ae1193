//! A listing parsed while it arrives: feed the bytes of the data connection
//! as they come, and every complete line is parsed at once, so that a
//! client waiting on a slow server has its entries ready when the last byte
//! lands. Gives the same entries as [`parse_listing_lean`] on the whole.

#[cfg(test)]
use super::parse_listing_lean;
use super::{extend_lean, LeanEntry};

pub struct ListingParser {
    pending: Vec<u8>,
    entries: Vec<LeanEntry>,
    mlsd: bool,
    now_unix: i64,
}

impl ListingParser {
    pub fn new(mlsd: bool, now_unix: i64) -> Self {
        ListingParser { pending: Vec::new(), entries: Vec::new(), mlsd, now_unix }
    }

    /// Takes the next bytes; parses the lines they complete.
    pub fn feed(&mut self, data: &[u8]) {
        let Some(last_nl) = memchr::memrchr(b'\n', data) else {
            self.pending.extend_from_slice(data);
            return;
        };
        let (complete, rest) = data.split_at(last_nl + 1);
        if self.pending.is_empty() {
            self.parse(complete);
        } else {
            self.pending.extend_from_slice(complete);
            let lines = std::mem::take(&mut self.pending);
            self.parse(&lines);
        }
        self.pending.extend_from_slice(rest);
    }

    /// How many entries are parsed and not yet taken.
    pub fn ready(&self) -> usize {
        self.entries.len()
    }

    /// The entries parsed so far, leaving the parser to go on.
    pub fn take_ready(&mut self) -> Vec<LeanEntry> {
        std::mem::take(&mut self.entries)
    }

    /// The data connection is at its end: parses the last line, even
    /// without its line end.
    pub fn end(&mut self) {
        let rest = std::mem::take(&mut self.pending);
        self.parse(&rest);
    }

    /// The entries not yet taken, once the data connection is at its end.
    pub fn finish(mut self) -> Vec<LeanEntry> {
        self.end();
        self.entries
    }

    fn parse(&mut self, lines: &[u8]) {
        extend_lean(&mut self.entries, lines, self.mlsd, self.now_unix);
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn same_entries_however_the_bytes_arrive(
            lines in proptest::collection::vec(prop_oneof![
                Just("-rw-r--r-- 1 u g 5 Feb 29 09:00 a name\r\n".to_owned()),
                Just("type=file;size=3;modify=20240229120000; x y\r\n".to_owned()),
                Just("02-29-24  03:04PM  <DIR>  d\n".to_owned()),
                Just("total 5\r\n".to_owned()),
                Just("\u{e9}t\u{e9}\n".to_owned()),
                "[^\n]{0,20}\n",
            ], 0..20),
            tail in "[^\n]{0,20}",
            cuts in proptest::collection::vec(any::<usize>(), 0..10),
            mlsd in any::<bool>(),
        ) {
            let data = format!("{}{tail}", lines.concat()).into_bytes();
            // Cut anywhere, even inside a UTF-8 sequence.
            let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (data.len() + 1)).collect();
            cuts.sort_unstable();
            let mut parser = ListingParser::new(mlsd, 1_795_000_000);
            let mut got = Vec::new();
            let mut prev = 0;
            for (i, cut) in cuts.into_iter().chain([data.len()]).enumerate() {
                parser.feed(&data[prev..cut]);
                prev = cut;
                if i % 2 == 0 {
                    got.extend(parser.take_ready());
                    prop_assert_eq!(parser.ready(), 0);
                }
            }
            got.extend(parser.finish());
            prop_assert_eq!(got, parse_listing_lean(&data, mlsd, 1_795_000_000));
        }
    }
}
