//! Command lines sent on the control connection.

/// The message of ftplib's `ValueError` for a command containing CR or LF.
pub const ILLEGAL_NEWLINE: &str = "an illegal newline character should not be contained";

/// Rejects a command line that contains CR or LF (command injection).
pub fn check_line(line: &str) -> Result<(), &'static str> {
    if line.contains(['\r', '\n']) {
        Err(ILLEGAL_NEWLINE)
    } else {
        Ok(())
    }
}

/// Masks a password the way ftplib's `sanitize` does, before `repr()`: after
/// an exact `pass ` or `PASS ` prefix, every character up to the trailing
/// CR/LF run becomes `*`.
pub fn mask_password(s: &str) -> String {
    let prefix: String = s.chars().take(5).collect();
    if prefix != "pass " && prefix != "PASS " {
        return s.to_owned();
    }
    let kept = s.trim_end_matches(['\r', '\n']);
    let n_kept = kept.chars().count();
    let mut out = prefix;
    out.extend(std::iter::repeat_n('*', n_kept.saturating_sub(5)));
    out.push_str(&s[kept.len()..]);
    out
}

/// `PORT h1,h2,h3,h4,p1,p2` exactly as ftplib builds it: the host is split on
/// dots without validation.
pub fn port_command(host: &str, port: i64) -> String {
    let mut fields: Vec<String> = host.split('.').map(str::to_owned).collect();
    fields.push(port.div_euclid(256).to_string());
    fields.push(port.rem_euclid(256).to_string());
    format!("PORT {}", fields.join(","))
}

/// `EPRT |af|host|port|` (RFC 2428); `af` is 1 for IPv4 and 2 for IPv6.
pub fn eprt_command(af: u8, host: &str, port: i64) -> String {
    format!("EPRT |{af}|{host}|{port}|")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_cr_and_lf() {
        assert!(check_line("NOOP").is_ok());
        for bad in ["CWD foo\r\nDELE x", "a\r", "b\n"] {
            assert_eq!(check_line(bad), Err(ILLEGAL_NEWLINE));
        }
    }

    #[test]
    fn masks_like_ftplib() {
        assert_eq!(mask_password("PASS 12345"), "PASS *****");
        assert_eq!(mask_password("pass 12345\r\n"), "pass *****\r\n");
        assert_eq!(mask_password("Pass 12345"), "Pass 12345");
        assert_eq!(mask_password("PASS "), "PASS ");
        assert_eq!(mask_password("PASS"), "PASS");
    }

    #[test]
    fn port_and_eprt() {
        assert_eq!(port_command("127.0.0.1", 2121), "PORT 127,0,0,1,8,73");
        assert_eq!(eprt_command(2, "::1", 2121), "EPRT |2|::1|2121|");
    }
}
