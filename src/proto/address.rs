//! Parsing the replies that carry numbers and paths (150, 227, 229, 257),
//! reproducing ftplib's `parse150`/`parse227`/`parse229`/`parse257` exactly,
//! including what they accept that a strict reading of the RFCs would not.

use super::reply::head;

/// Why a reply could not be parsed, named after the exception ftplib raises.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// Not the expected reply code: `error_reply(resp)`.
    Reply,
    /// The expected code, but malformed: `error_proto(resp)`.
    Proto,
}

/// The size announced by a `150` reply: the digits of the last
/// `" (<digits> bytes)"` on the first line after `"150 "` (case-insensitive),
/// as ftplib's `re.match(r"150 .* \((\d+) bytes\)", re.I | re.A)` finds them.
pub fn parse150(resp: &str) -> Result<Option<&str>, ParseError> {
    if head(resp, 3) != "150" {
        return Err(ParseError::Reply);
    }
    let first_line = resp.split('\n').next().unwrap_or("");
    let Some(rest) = first_line.strip_prefix("150 ") else {
        return Ok(None);
    };
    let bytes = rest.as_bytes();
    // `.*` is greedy: the match that starts last wins.
    let mut found = None;
    let mut i = 0;
    while i + 2 <= bytes.len() {
        if bytes[i] == b' ' && bytes[i + 1] == b'(' {
            let digits_start = i + 2;
            let digits_end = digits_start + bytes[digits_start..].iter().take_while(|b| b.is_ascii_digit()).count();
            let tail = &bytes[digits_end..];
            if digits_end > digits_start && tail.len() >= 7 && tail[..7].eq_ignore_ascii_case(b" bytes)") {
                found = Some(&rest[digits_start..digits_end]);
            }
        }
        i += 1;
    }
    Ok(found)
}

/// The numbers of a `227` reply: the first run of six comma-separated
/// decimal fields anywhere in the text. Returns the host (the first four
/// fields joined by dots, unvalidated, as ftplib does) and the two port bytes
/// as digit strings (Python computes `(p1 << 8) + p2` with big integers).
pub fn parse227(resp: &str) -> Result<(String, &str, &str), ParseError> {
    if head(resp, 3) != "227" {
        return Err(ParseError::Reply);
    }
    let b = resp.as_bytes();
    let mut start = 0;
    while start < b.len() {
        if !b[start].is_ascii_digit() || (start > 0 && b[start - 1].is_ascii_digit()) {
            start += 1;
            continue;
        }
        if let Some(fields) = six_fields(resp, start) {
            let host = fields[..4].join(".");
            return Ok((host, fields[4], fields[5]));
        }
        start += 1;
    }
    Err(ParseError::Proto)
}

fn six_fields(s: &str, mut i: usize) -> Option<[&str; 6]> {
    let b = s.as_bytes();
    let mut out = [""; 6];
    for (n, slot) in out.iter_mut().enumerate() {
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return None;
        }
        *slot = &s[start..i];
        if n < 5 {
            if b.get(i) != Some(&b',') {
                return None;
            }
            i += 1;
        }
    }
    Some(out)
}

/// The port field of a `229` reply, `(|||port|)` with any delimiter, as an
/// unconverted string (Python's `int()` rules apply to it); the host in the
/// reply is ignored by design.
pub fn parse229(resp: &str) -> Result<&str, ParseError> {
    if head(resp, 3) != "229" {
        return Err(ParseError::Reply);
    }
    let left = resp.find('(').ok_or(ParseError::Proto)?;
    let right = resp[left + 1..].find(')').map(|r| r + left + 1).ok_or(ParseError::Proto)?;
    let delim = resp[left + 1..].chars().next().ok_or(ParseError::Proto)?;
    let before_right = resp[..right].chars().next_back().ok_or(ParseError::Proto)?;
    if delim != before_right {
        return Err(ParseError::Proto);
    }
    // `resp[left+1:right]` is empty when `left + 1 == right`; then the
    // delimiter is `)` and the character before `right` is `(`, caught above.
    let inner = &resp[left + 1..right];
    let parts: Vec<&str> = inner.split(delim).collect();
    if parts.len() != 5 {
        return Err(ParseError::Proto);
    }
    Ok(parts[3])
}

/// The directory name in a `257` reply: `""` unless the text after the code
/// starts with ` "`; a doubled quote stands for one quote; an unterminated
/// name runs to the end.
pub fn parse257(resp: &str) -> Result<String, ParseError> {
    if head(resp, 3) != "257" {
        return Err(ParseError::Reply);
    }
    let mut chars = resp.chars().skip(3).peekable();
    if chars.next() != Some(' ') || chars.next() != Some('"') {
        return Ok(String::new());
    }
    let mut name = String::new();
    while let Some(c) = chars.next() {
        if c == '"' {
            if chars.peek() != Some(&'"') {
                break;
            }
            chars.next();
        }
        name.push(c);
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn p150() {
        assert_eq!(parse150("150 File (12 BYTES)"), Ok(Some("12")));
        assert_eq!(parse150("150 (12 bytes)"), Ok(None));
        assert_eq!(parse150("150  (12 bytes)"), Ok(Some("12")));
        assert_eq!(parse150("150 a (1 bytes) b (22 bytes)"), Ok(Some("22")));
        assert_eq!(parse150("150 ok\nx (5 bytes)"), Ok(None));
        assert_eq!(parse150("125 x"), Err(ParseError::Reply));
    }

    #[test]
    fn p227() {
        assert_eq!(parse227("227 Entering Passive Mode (127,0,0,1,8,73)."), Ok(("127.0.0.1".into(), "8", "73")));
        assert_eq!(parse227("227 999,1,1,1,1,1"), Ok(("999.1.1.1".into(), "1", "1")));
        assert_eq!(parse227("227 1,2,3,4,5"), Err(ParseError::Proto));
        assert_eq!(parse227("200 1,2,3,4,5,6"), Err(ParseError::Reply));
    }

    #[test]
    fn p229() {
        assert_eq!(parse229("229 Entering Extended Passive Mode (|||6446|)"), Ok("6446"));
        assert_eq!(parse229("229 (!!!6446!)"), Ok("6446"));
        for bad in ["229 (|||6446|", "229 |||6446|)", "229 (|||6446!)", "229 (||6446|)", "229 ()"] {
            assert_eq!(parse229(bad), Err(ParseError::Proto), "{bad}");
        }
        assert_eq!(parse229("229 (|"), Err(ParseError::Proto));
    }

    #[test]
    fn p257() {
        assert_eq!(parse257("257 \"/foo/bar\""), Ok("/foo/bar".into()));
        assert_eq!(parse257("257 \"/a\"\"b\" created"), Ok("/a\"b".into()));
        assert_eq!(parse257("257 /foo"), Ok(String::new()));
        assert_eq!(parse257("257 \"/unterminated"), Ok("/unterminated".into()));
        assert_eq!(parse257("250 \"/x\""), Err(ParseError::Reply));
    }
}
