//! FEAT replies (RFC 2389) and the hash extensions they announce: the HASH
//! command (draft-bryan-ftpext-hash) and the older XSHA256/XSHA1/XMD5/XCRC.

/// The features of a FEAT reply, in the server's order: the feature name
/// upper-cased, and the rest of its line (parameters) as sent, trimmed.
///
/// ```text
/// 211-Features:
///  MDTM
///  HASH SHA-256;SHA-1*;MD5
/// 211 End
/// ```
pub fn parse_feat(reply: &str) -> Vec<(String, String)> {
    let mut lines = reply.lines();
    // The first line is "211-Features:" (or a one-line "211 no features").
    lines.next();
    let mut out: Vec<(String, String)> = Vec::new();
    for line in lines {
        // Feature lines start with a space; the closing "211 End" does not.
        let Some(body) = line.strip_prefix(' ') else { continue };
        let body = body.trim();
        if body.is_empty() {
            continue;
        }
        let (name, params) = match body.find(' ') {
            Some(i) => (&body[..i], body[i + 1..].trim()),
            None => (body, ""),
        };
        let name = name.to_ascii_uppercase();
        if !out.iter().any(|(n, _)| *n == name) {
            out.push((name, params.to_owned()));
        }
    }
    out
}

/// A hash algorithm a server can compute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashAlgorithm {
    Sha256,
    Sha1,
    Md5,
    Crc32,
}

impl HashAlgorithm {
    /// Strongest first: the order in which rftplib picks one.
    pub const PREFERENCE: [HashAlgorithm; 4] =
        [HashAlgorithm::Sha256, HashAlgorithm::Sha1, HashAlgorithm::Md5, HashAlgorithm::Crc32];

    /// The name in HASH's registry ("SHA-256", "SHA-1", "MD5", "CRC32").
    pub fn name(self) -> &'static str {
        match self {
            HashAlgorithm::Sha256 => "SHA-256",
            HashAlgorithm::Sha1 => "SHA-1",
            HashAlgorithm::Md5 => "MD5",
            HashAlgorithm::Crc32 => "CRC32",
        }
    }

    /// The command of the older one-algorithm extensions.
    pub fn x_command(self) -> &'static str {
        match self {
            HashAlgorithm::Sha256 => "XSHA256",
            HashAlgorithm::Sha1 => "XSHA1",
            HashAlgorithm::Md5 => "XMD5",
            HashAlgorithm::Crc32 => "XCRC",
        }
    }

    /// Accepts the registry names and common spellings ("sha256", "SHA-256", "crc").
    pub fn from_name(name: &str) -> Option<Self> {
        let n: String = name.chars().filter(|c| *c != '-' && *c != '_').collect::<String>().to_ascii_uppercase();
        match n.as_str() {
            "SHA256" => Some(HashAlgorithm::Sha256),
            "SHA1" => Some(HashAlgorithm::Sha1),
            "MD5" => Some(HashAlgorithm::Md5),
            "CRC32" | "CRC" => Some(HashAlgorithm::Crc32),
            _ => None,
        }
    }

    /// The length of the hex digest.
    pub fn hex_len(self) -> usize {
        match self {
            HashAlgorithm::Sha256 => 64,
            HashAlgorithm::Sha1 => 40,
            HashAlgorithm::Md5 => 32,
            HashAlgorithm::Crc32 => 8,
        }
    }
}

/// The parameter of FEAT's HASH line: the algorithms, each with whether it
/// is the one selected (marked `*`). Names are kept as the server spells them.
pub fn parse_hash_feature(params: &str) -> Vec<(String, bool)> {
    params
        .split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| match s.strip_suffix('*') {
            Some(name) => (name.trim().to_owned(), true),
            None => (s.to_owned(), false),
        })
        .collect()
}

/// How a server can hash a file for us.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HashMethod {
    /// `HASH path`, after `OPTS HASH <name>` unless `selected`.
    Hash { algorithm: HashAlgorithm, name: String, selected: bool },
    /// `XSHA256 path` and friends.
    XCommand(HashAlgorithm),
}

impl HashMethod {
    pub fn algorithm(&self) -> HashAlgorithm {
        match self {
            HashMethod::Hash { algorithm, .. } => *algorithm,
            HashMethod::XCommand(a) => *a,
        }
    }
}

/// Picks how to hash, from the FEAT features: `wanted` if given (None when
/// the server cannot), else the strongest algorithm offered. HASH is
/// preferred over the X commands.
pub fn choose_hash(features: &[(String, String)], wanted: Option<HashAlgorithm>) -> Option<HashMethod> {
    let hash: Vec<(HashAlgorithm, String, bool)> = features
        .iter()
        .find(|(n, _)| n == "HASH")
        .map(|(_, p)| {
            parse_hash_feature(p)
                .into_iter()
                .filter_map(|(name, sel)| HashAlgorithm::from_name(&name).map(|a| (a, name, sel)))
                .collect()
        })
        .unwrap_or_default();
    let has_x = |a: HashAlgorithm| features.iter().any(|(n, _)| n == a.x_command());
    let candidates: Vec<HashAlgorithm> = match wanted {
        Some(a) => vec![a],
        None => HashAlgorithm::PREFERENCE.to_vec(),
    };
    for a in candidates {
        if let Some((_, name, selected)) = hash.iter().find(|(h, _, _)| *h == a) {
            return Some(HashMethod::Hash { algorithm: a, name: name.clone(), selected: *selected });
        }
        if has_x(a) {
            return Some(HashMethod::XCommand(a));
        }
    }
    None
}

/// The digest in a reply to HASH (`213 SHA-256 0-1234 <hex> name`) or to an
/// X command (`250 <hex>` / `213 <hex> name`): the first word of the right
/// length made of hex digits, lower-cased.
pub fn parse_hash_reply(reply: &str, algorithm: HashAlgorithm) -> Option<String> {
    let text = reply.get(4..).unwrap_or("");
    let want = algorithm.hex_len();
    for word in text.split_whitespace() {
        // XCRC replies sometimes drop leading zeros; accept shorter CRCs.
        let ok_len = word.len() == want || (algorithm == HashAlgorithm::Crc32 && (1..=8).contains(&word.len()));
        if ok_len && word.bytes().all(|b| b.is_ascii_hexdigit()) {
            let w = word.to_ascii_lowercase();
            return Some(if algorithm == HashAlgorithm::Crc32 { format!("{w:0>8}") } else { w });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const FEAT: &str = "211-Features:\n MDTM\n REST STREAM\n SIZE\n HASH SHA-256;SHA-1*;MD5\n MLST type*;size*;modify*;\n UTF8\n211 End";

    #[test]
    fn features_in_order_with_params() {
        let f = parse_feat(FEAT);
        let names: Vec<&str> = f.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["MDTM", "REST", "SIZE", "HASH", "MLST", "UTF8"]);
        assert_eq!(f[1].1, "STREAM");
        assert_eq!(f[4].1, "type*;size*;modify*;");
    }

    #[test]
    fn one_line_reply_has_no_features() {
        assert!(parse_feat("211 No features").is_empty());
        assert!(parse_feat("").is_empty());
    }

    #[test]
    fn names_are_upper_cased_and_first_wins() {
        let f = parse_feat("211-x\n mdtm\n MDTM again\n211 End");
        assert_eq!(f, vec![("MDTM".to_owned(), String::new())]);
    }

    #[test]
    fn hash_feature_marks_selected() {
        assert_eq!(
            parse_hash_feature("SHA-256;SHA-1*;MD5;"),
            vec![("SHA-256".into(), false), ("SHA-1".into(), true), ("MD5".into(), false)]
        );
    }

    #[test]
    fn choose_prefers_strongest_and_hash_command() {
        let f = parse_feat(FEAT);
        assert_eq!(
            choose_hash(&f, None),
            Some(HashMethod::Hash { algorithm: HashAlgorithm::Sha256, name: "SHA-256".into(), selected: false })
        );
        assert_eq!(
            choose_hash(&f, Some(HashAlgorithm::Sha1)),
            Some(HashMethod::Hash { algorithm: HashAlgorithm::Sha1, name: "SHA-1".into(), selected: true })
        );
        assert_eq!(choose_hash(&f, Some(HashAlgorithm::Crc32)), None);
    }

    #[test]
    fn choose_falls_back_to_x_commands() {
        let f = parse_feat("211-x\n XMD5\n XCRC\n211 End");
        assert_eq!(choose_hash(&f, None), Some(HashMethod::XCommand(HashAlgorithm::Md5)));
        assert_eq!(choose_hash(&f, Some(HashAlgorithm::Crc32)), Some(HashMethod::XCommand(HashAlgorithm::Crc32)));
        assert_eq!(choose_hash(&[], None), None);
    }

    #[test]
    fn algorithm_names() {
        for a in HashAlgorithm::PREFERENCE {
            assert_eq!(HashAlgorithm::from_name(a.name()), Some(a));
        }
        assert_eq!(HashAlgorithm::from_name("sha256"), Some(HashAlgorithm::Sha256));
        assert_eq!(HashAlgorithm::from_name("whirlpool"), None);
    }

    #[test]
    fn hash_replies() {
        let hex = "a".repeat(64);
        assert_eq!(
            parse_hash_reply(&format!("213 SHA-256 0-49 {hex} file.txt"), HashAlgorithm::Sha256),
            Some(hex.clone())
        );
        assert_eq!(
            parse_hash_reply("250 D41D8CD98F00B204E9800998ECF8427E", HashAlgorithm::Md5).as_deref(),
            Some("d41d8cd98f00b204e9800998ecf8427e")
        );
        assert_eq!(parse_hash_reply("250 1c291ca3", HashAlgorithm::Crc32).as_deref(), Some("1c291ca3"));
        assert_eq!(parse_hash_reply("250 c291ca3", HashAlgorithm::Crc32).as_deref(), Some("0c291ca3"));
        assert_eq!(parse_hash_reply("213 nothing here", HashAlgorithm::Sha1), None);
    }
}
