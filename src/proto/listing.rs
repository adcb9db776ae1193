//! MLSD lines (RFC 3659 §7), split exactly as ftplib's `mlsd` does.

/// Splits one MLSD line into its name and its facts. Fact names are
/// lowercased, values kept; the text after the first space is the name, spaces
/// and semicolons included. Like ftplib, the last character of the facts part
/// (the trailing `;`) is dropped before splitting, so a line without facts
/// yields one empty fact.
pub fn parse_mlsd_line(line: &str) -> (&str, Vec<(String, &str)>) {
    let (name, facts) = split_mlsd_line(line);
    (name, facts.into_iter().map(|(key, value)| (key.to_lowercase(), value)).collect())
}

/// [`parse_mlsd_line`] without lowercasing the fact names, for callers that
/// must lowercase them as ftplib does: with the running Python's `str.lower`,
/// whose Unicode tables may be older than Rust's.
pub fn split_mlsd_line(line: &str) -> (&str, Vec<(&str, &str)>) {
    let line = line.trim_end_matches(['\r', '\n']);
    let (facts, name) = line.split_once(' ').unwrap_or((line, ""));
    let facts = match facts.char_indices().next_back() {
        Some((i, _)) => &facts[..i],
        None => facts,
    };
    let entries = facts.split(';').map(|fact| fact.split_once('=').unwrap_or((fact, ""))).collect();
    (name, entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typical_line() {
        let (name, facts) = parse_mlsd_line("Type=file;Size=12;Perm=r; my file;x.txt\r\n");
        assert_eq!(name, "my file;x.txt");
        assert_eq!(facts, vec![("type".into(), "file"), ("size".into(), "12"), ("perm".into(), "r")]);
    }

    #[test]
    fn split_keeps_fact_names_as_sent() {
        let (name, facts) = split_mlsd_line("Type=file;X\u{A7CB}=1; f");
        assert_eq!(name, "f");
        assert_eq!(facts, vec![("Type", "file"), ("X\u{A7CB}", "1")]);
    }

    #[test]
    fn odd_lines_like_ftplib() {
        assert_eq!(parse_mlsd_line(" name"), ("name", vec![(String::new(), "")]));
        assert_eq!(parse_mlsd_line("type==; x").1, vec![("type".into(), "=")]);
        assert_eq!(parse_mlsd_line("nospace").0, "");
    }
}
