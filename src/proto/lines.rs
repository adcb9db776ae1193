//! Line splitting with the semantics of Python's text-mode `readline(limit)`
//! (`TextIOWrapper` with `newline=None`), which ftplib uses for both the control
//! connection and `retrlines`: `\r\n`, `\n` and a bare `\r` each end a line and
//! are all returned as `\n`; `limit` counts decoded characters, newline included.

/// How to count characters of the encoded bytes for the `limit`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CharWidth {
    /// UTF-8: every byte that is not a continuation byte starts a character.
    Utf8,
    /// One byte is one character (latin-1, cp1252, ascii, ...).
    SingleByte,
}

impl CharWidth {
    /// Length in bytes of the character starting at `data[0]`, and whether
    /// all of it has arrived. A UTF-8 character is its lead byte and the
    /// continuation bytes that follow, up to the length the lead byte
    /// announces; any other byte ends it early, so stray bytes count as one
    /// character each. The split depends only on the bytes, never on how they
    /// arrived.
    fn next_char(self, data: &[u8]) -> (usize, bool) {
        match self {
            CharWidth::SingleByte => (1, true),
            CharWidth::Utf8 => {
                let want = match data[0] {
                    0xC0..=0xDF => 2,
                    0xE0..=0xEF => 3,
                    0xF0..=0xF7 => 4,
                    _ => 1,
                };
                let mut len = 1;
                while len < want {
                    match data.get(len) {
                        Some(b) if b & 0xC0 == 0x80 => len += 1,
                        Some(_) => return (len, true),
                        None => return (len, false),
                    }
                }
                (len, true)
            }
        }
    }

    /// Number of complete characters in `data`.
    pub fn count(self, data: &[u8]) -> usize {
        if self == CharWidth::SingleByte {
            return data.len();
        }
        let (mut i, mut n) = (0, 0);
        while i < data.len() {
            let (len, complete) = self.next_char(&data[i..]);
            if !complete {
                break;
            }
            i += len;
            n += 1;
        }
        n
    }

    /// Byte length of the first `n` characters of `data` (all of it if shorter).
    fn prefix_len(self, data: &[u8], n: usize) -> usize {
        if self == CharWidth::SingleByte {
            return n.min(data.len());
        }
        let mut i = 0;
        for _ in 0..n {
            if i >= data.len() {
                break;
            }
            i += self.next_char(&data[i..]).0;
        }
        i.min(data.len())
    }
}

/// A line taken from a [`LineBuffer`].
#[derive(Debug, PartialEq, Eq)]
pub struct Line {
    /// The line's bytes, with its terminator translated to a single `\n`
    /// (absent when the line was cut by the limit or ended at EOF).
    pub bytes: Vec<u8>,
}

/// Buffers bytes received from a stream and hands them out line by line.
#[derive(Debug, Default)]
pub struct LineBuffer {
    /// Always initialised up to its length; `start..end` is pending data.
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// The last line ended in `\r` at the end of the data seen so far: a `\n`
    /// that arrives next belongs to that terminator.
    skip_lf: bool,
}

impl LineBuffer {
    pub fn new() -> Self {
        Self::default()
    }

    /// Bytes received and not yet handed out.
    pub fn pending(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// Appends received bytes.
    pub fn extend(&mut self, data: &[u8]) {
        let spare = self.spare(data.len());
        spare[..data.len()].copy_from_slice(data);
        self.commit(data.len());
    }

    /// Free space of at least `min` bytes to receive into; call
    /// [`commit`](Self::commit) with the number of bytes written.
    pub fn spare(&mut self, min: usize) -> &mut [u8] {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        } else if self.start > 0 && self.buf.len() - self.end < min {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.buf.len() - self.end < min {
            self.buf.resize(self.end + min, 0);
        }
        &mut self.buf[self.end..]
    }

    /// Keeps `n` bytes written into the space handed out by [`spare`](Self::spare).
    pub fn commit(&mut self, n: usize) {
        self.end += n;
        debug_assert!(self.end <= self.buf.len());
    }

    /// Removes and returns up to `max` pending bytes (raw, untranslated).
    pub fn take_raw(&mut self, max: usize) -> &[u8] {
        self.absorb_lf();
        let n = max.min(self.end - self.start);
        let from = self.start;
        self.start += n;
        &self.buf[from..from + n]
    }

    fn absorb_lf(&mut self) {
        if self.skip_lf && self.start < self.end {
            if self.buf[self.start] == b'\n' {
                self.start += 1;
            }
            self.skip_lf = false;
        }
    }

    /// Takes the next line, or `None` when more data is needed to decide.
    ///
    /// `limit` is the largest number of characters to return, newline included
    /// (`None`: no limit). At `eof`, what remains is returned even without a
    /// terminator, and an empty line means the stream is exhausted.
    pub fn take_line(&mut self, limit: Option<usize>, width: CharWidth, eof: bool) -> Option<Line> {
        self.absorb_lf();
        let data = &self.buf[self.start..self.end];
        let found = memchr::memchr2(b'\r', b'\n', data);
        let content_end = found.unwrap_or(data.len());
        if let Some(limit) = limit {
            // Cut when the line, newline included, would exceed the limit, or when
            // no terminator is in sight and the limit is already reached.
            let cut_needed = match found {
                Some(i) => width.count(&data[..i]) + 1 > limit,
                None => width.count(data) >= limit,
            };
            if cut_needed {
                let n = width.prefix_len(&data[..content_end], limit);
                let bytes = data[..n].to_vec();
                self.start += n;
                return Some(Line { bytes });
            }
        }
        match found {
            Some(i) => {
                let mut bytes = Vec::with_capacity(i + 1);
                bytes.extend_from_slice(&data[..i]);
                bytes.push(b'\n');
                let mut consumed = i + 1;
                if data[i] == b'\r' {
                    match data.get(i + 1) {
                        Some(b'\n') => consumed += 1,
                        Some(_) => {}
                        None => self.skip_lf = true,
                    }
                }
                self.start += consumed;
                Some(Line { bytes })
            }
            None if eof => {
                let bytes = data.to_vec();
                self.start += bytes.len();
                Some(Line { bytes })
            }
            None => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(chunks: &[&[u8]], limit: Option<usize>) -> Vec<Vec<u8>> {
        let mut lb = LineBuffer::new();
        let mut out = Vec::new();
        for c in chunks {
            lb.extend(c);
            while let Some(l) = lb.take_line(limit, CharWidth::Utf8, false) {
                out.push(l.bytes);
            }
        }
        while let Some(l) = lb.take_line(limit, CharWidth::Utf8, true) {
            if l.bytes.is_empty() {
                break;
            }
            out.push(l.bytes);
        }
        out
    }

    #[test]
    fn universal_newlines() {
        let got = lines(&[b"l1\r\nl2\nl3\rl4"], None);
        assert_eq!(got, vec![b"l1\n".to_vec(), b"l2\n".to_vec(), b"l3\n".to_vec(), b"l4".to_vec()]);
    }

    #[test]
    fn cr_lf_split_across_chunks_is_one_terminator() {
        let got = lines(&[b"200 ok\r", b"\n220 x\r\n"], None);
        assert_eq!(got, vec![b"200 ok\n".to_vec(), b"220 x\n".to_vec()]);
    }

    #[test]
    fn bare_cr_inside_reply_ends_a_line() {
        let got = lines(&[b"200 a\rb\r\n"], None);
        assert_eq!(got, vec![b"200 a\n".to_vec(), b"b\n".to_vec()]);
    }

    #[test]
    fn limit_counts_characters_with_newline() {
        let ok = "é".repeat(4) + "\n";
        assert_eq!(lines(&[ok.as_bytes()], Some(5)), vec![ok.as_bytes().to_vec()]);
        let long = "é".repeat(5) + "\n";
        let got = lines(&[long.as_bytes()], Some(5));
        assert_eq!(got[0], "é".repeat(5).as_bytes().to_vec());
    }

    #[test]
    fn limit_without_terminator_returns_early() {
        let mut lb = LineBuffer::new();
        lb.extend(&[b'x'; 20]);
        let l = lb.take_line(Some(11), CharWidth::SingleByte, false).unwrap();
        assert_eq!(l.bytes.len(), 11);
        assert_eq!(lb.pending().len(), 9);
    }

    #[test]
    fn limit_never_splits_a_character_across_chunks() {
        // Found by the chunking property test: the cut depended on where a
        // multi-byte character was split between reads.
        let whole = lines(&["é\n".as_bytes()], Some(1));
        assert_eq!(whole, lines(&[b"\xc3", b"\xa9\n"], Some(1)));
        assert_eq!(whole, vec!["é".as_bytes().to_vec(), b"\n".to_vec()]);
        let mut odd = vec![b'\r'; 3];
        odd.extend_from_slice(&[0, 0x80, b'\r']);
        assert_eq!(lines(&[&odd], Some(1)), lines(&[&odd[..4], &odd[4..]], Some(1)));
    }

    #[test]
    fn eof_gives_empty_line() {
        let mut lb = LineBuffer::new();
        assert!(lb.take_line(None, CharWidth::Utf8, false).is_none());
        assert_eq!(lb.take_line(None, CharWidth::Utf8, true).unwrap().bytes, b"");
    }
}
