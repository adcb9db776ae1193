//! FTP replies (RFC 959 §4.2): multi-line assembly and classification, with
//! ftplib's exact rules. Lines are `str` slices already stripped of CR/LF.

/// What the first character of a reply says, as ftplib classifies it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyClass {
    /// 1xx, 2xx, 3xx: returned to the caller.
    Positive(u8),
    /// 4xx: `error_temp`.
    TransientNegative,
    /// 5xx: `error_perm`.
    PermanentNegative,
    /// Anything else, the empty reply included: `error_proto`.
    Invalid,
}

pub fn classify(reply: &str) -> ReplyClass {
    match reply.as_bytes().first() {
        Some(c @ b'1'..=b'3') => ReplyClass::Positive(c - b'0'),
        Some(b'4') => ReplyClass::TransientNegative,
        Some(b'5') => ReplyClass::PermanentNegative,
        _ => ReplyClass::Invalid,
    }
}

/// The first `n` characters of `s` (Python's `s[:n]`).
pub fn head(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// The character at index `i` of `s` as a slice (Python's `s[i:i+1]`).
pub fn char_at(s: &str, i: usize) -> &str {
    let mut it = s.char_indices().skip(i);
    match it.next() {
        Some((start, c)) => &s[start..start + c.len_utf8()],
        None => "",
    }
}

/// Assembles multi-line replies: a first line whose fourth character is `-`
/// opens one, which ends at the first line that starts with the same three
/// characters and whose fourth character is not `-`.
#[derive(Debug, Default)]
pub struct ReplyAssembler {
    text: String,
    code: Option<String>,
}

impl ReplyAssembler {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one line; returns the whole reply (lines joined by `\n`) once complete.
    pub fn push(&mut self, line: &str) -> Option<String> {
        match &self.code {
            None => {
                if char_at(line, 3) == "-" {
                    self.code = Some(head(line, 3).to_owned());
                    self.text = line.to_owned();
                    None
                } else {
                    Some(line.to_owned())
                }
            }
            Some(code) => {
                self.text.push('\n');
                self.text.push_str(line);
                if head(line, 3) == code && char_at(line, 3) != "-" {
                    self.code = None;
                    Some(std::mem::take(&mut self.text))
                } else {
                    None
                }
            }
        }
    }
}

/// Strips what ftplib's `getline` strips: a trailing CRLF, or else one trailing
/// CR or LF.
pub fn strip_eol(line: &str) -> &str {
    if let Some(s) = line.strip_suffix("\r\n") {
        s
    } else if let Some(s) = line.strip_suffix(['\r', '\n']) {
        s
    } else {
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assemble(lines: &[&str]) -> Vec<String> {
        let mut a = ReplyAssembler::new();
        lines.iter().filter_map(|l| a.push(l)).collect()
    }

    #[test]
    fn single_and_multi_line() {
        assert_eq!(assemble(&["200 ok"]), vec!["200 ok"]);
        assert_eq!(
            assemble(&["211-Features", " MLST", "211-still", "211 End", "200 next"]),
            vec!["211-Features\n MLST\n211-still\n211 End", "200 next"]
        );
    }

    #[test]
    fn bare_code_ends_multiline() {
        assert_eq!(assemble(&["211-x", "211"]), vec!["211-x\n211"]);
    }

    #[test]
    fn classification_uses_first_char_only() {
        assert_eq!(classify("250 ok"), ReplyClass::Positive(2));
        assert_eq!(classify("4"), ReplyClass::TransientNegative);
        assert_eq!(classify("599"), ReplyClass::PermanentNegative);
        for bad in ["", " 200", "600", "abc"] {
            assert_eq!(classify(bad), ReplyClass::Invalid);
        }
    }

    #[test]
    fn strip_eol_like_getline() {
        assert_eq!(strip_eol("a\r\n"), "a");
        assert_eq!(strip_eol("a\n"), "a");
        assert_eq!(strip_eol("a\r"), "a");
        assert_eq!(strip_eol("a\n\n"), "a\n");
    }

    #[test]
    fn char_slicing_is_by_character() {
        assert_eq!(head("éé-x", 3), "éé-");
        assert_eq!(char_at("éé-x", 2), "-");
        assert_eq!(char_at("ab", 5), "");
    }
}
