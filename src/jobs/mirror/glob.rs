//! Glob patterns on relative paths (`/`-separated), for mirror's
//! include/exclude: `*` and `?` stay within one path component, `**` spans
//! components (`a/**/b` also matches `a/b`), `[...]` is a character class
//! (`[!...]` or `[^...]` negated, ranges as `a-z`), `\` escapes the next
//! character. A pattern without `/` is matched against the last component
//! only, so `*.txt` selects text files at any depth (as rclone and
//! .gitignore read it); a pattern with `/` is matched against the whole path
//! (a leading `/` is ignored).

#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Char(char),
    Any,      // ?
    Star,     // *
    GlobStar, // ** (as a whole component, with its following `/` if any)
    Class { negated: bool, items: Vec<(char, char)> },
}

/// A compiled glob pattern.
#[derive(Clone, Debug)]
pub struct Glob {
    source: String,
    tokens: Vec<Token>,
    basename_only: bool,
}

/// Why a pattern could not be compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad glob pattern {pattern:?}: {reason}")]
pub struct GlobError {
    pub pattern: String,
    pub reason: &'static str,
}

impl Glob {
    pub fn new(pattern: &str) -> Result<Self, GlobError> {
        let err = |reason| GlobError { pattern: pattern.to_owned(), reason };
        if pattern.is_empty() {
            return Err(err("empty pattern"));
        }
        let basename_only = !pattern.contains('/');
        let body = pattern.strip_prefix('/').unwrap_or(pattern);
        let chars: Vec<char> = body.chars().collect();
        let mut tokens = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            match c {
                '\\' => {
                    let next = *chars.get(i + 1).ok_or_else(|| err("trailing backslash"))?;
                    tokens.push(Token::Char(next));
                    i += 2;
                }
                '?' => {
                    tokens.push(Token::Any);
                    i += 1;
                }
                '*' => {
                    let mut j = i;
                    while j < chars.len() && chars[j] == '*' {
                        j += 1;
                    }
                    let at_start = i == 0 || chars[i - 1] == '/';
                    let at_end = j == chars.len() || chars[j] == '/';
                    if j - i >= 2 && at_start && at_end {
                        tokens.push(Token::GlobStar);
                        // `**/` swallows its slash so that it can match zero components.
                        i = if j < chars.len() { j + 1 } else { j };
                    } else {
                        tokens.push(Token::Star);
                        i = j;
                    }
                }
                '[' => {
                    let mut j = i + 1;
                    let negated = matches!(chars.get(j), Some('!') | Some('^'));
                    if negated {
                        j += 1;
                    }
                    let mut items = Vec::new();
                    let mut first = true;
                    loop {
                        let Some(&c) = chars.get(j) else {
                            return Err(err("unclosed character class"));
                        };
                        if c == ']' && !first {
                            break;
                        }
                        first = false;
                        let lo = if c == '\\' {
                            j += 1;
                            *chars.get(j).ok_or_else(|| err("unclosed character class"))?
                        } else {
                            c
                        };
                        j += 1;
                        if chars.get(j) == Some(&'-') && chars.get(j + 1).is_some_and(|&c| c != ']') {
                            let hi = chars[j + 1];
                            if hi < lo {
                                return Err(err("reversed range in character class"));
                            }
                            items.push((lo, hi));
                            j += 2;
                        } else {
                            items.push((lo, lo));
                        }
                    }
                    tokens.push(Token::Class { negated, items });
                    i = j + 1;
                }
                c => {
                    tokens.push(Token::Char(c));
                    i += 1;
                }
            }
        }
        Ok(Glob { source: pattern.to_owned(), tokens, basename_only })
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether `path` (relative, `/`-separated) matches.
    pub fn matches(&self, path: &str) -> bool {
        let subject = if self.basename_only { path.rsplit('/').next().unwrap_or(path) } else { path };
        let chars: Vec<char> = subject.chars().collect();
        match_at(&self.tokens, &chars)
    }
}

/// Backtracking matcher; patterns are short, so the worst case stays small.
fn match_at(tokens: &[Token], s: &[char]) -> bool {
    let Some((tok, rest)) = tokens.split_first() else {
        return s.is_empty();
    };
    match tok {
        Token::Char(c) => s.first() == Some(c) && match_at(rest, &s[1..]),
        Token::Any => s.first().is_some_and(|&c| c != '/') && match_at(rest, &s[1..]),
        Token::Class { negated, items } => match s.first() {
            Some(&c) if c != '/' => {
                let inside = items.iter().any(|&(lo, hi)| lo <= c && c <= hi);
                inside != *negated && match_at(rest, &s[1..])
            }
            _ => false,
        },
        Token::Star => {
            for k in 0..=s.len() {
                if match_at(rest, &s[k..]) {
                    return true;
                }
                if k < s.len() && s[k] == '/' {
                    break;
                }
            }
            false
        }
        Token::GlobStar => {
            if rest.is_empty() {
                return true;
            }
            // Zero or more whole components: try at the start and after each `/`.
            if match_at(rest, s) {
                return true;
            }
            s.iter().enumerate().any(|(k, &c)| c == '/' && match_at(rest, &s[k + 1..]))
        }
    }
}

/// Mirror's selection: a path is taken when it matches an include pattern
/// (or there are none) and no exclude pattern. A directory that matches an
/// exclude pattern is not entered at all.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    include: Vec<Glob>,
    exclude: Vec<Glob>,
}

impl Filter {
    pub fn new<S: AsRef<str>>(include: &[S], exclude: &[S]) -> Result<Self, GlobError> {
        let compile = |v: &[S]| v.iter().map(|p| Glob::new(p.as_ref())).collect::<Result<Vec<_>, _>>();
        Ok(Filter { include: compile(include)?, exclude: compile(exclude)? })
    }

    pub fn has_includes(&self) -> bool {
        !self.include.is_empty()
    }

    /// Whether the file at `path` is selected.
    pub fn file_selected(&self, path: &str) -> bool {
        (self.include.is_empty() || self.include.iter().any(|g| g.matches(path)))
            && !self.exclude.iter().any(|g| g.matches(path))
    }

    /// Whether the directory at `path` (and so everything below it) is left out.
    pub fn dir_excluded(&self, path: &str) -> bool {
        self.exclude.iter().any(|g| g.matches(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, s: &str) -> bool {
        Glob::new(p).unwrap().matches(s)
    }

    #[test]
    fn star_and_question_stay_in_one_component() {
        assert!(m("*.txt", "a.txt"));
        assert!(m("*.txt", "dir/sub/a.txt"), "basename patterns match at any depth");
        assert!(!m("*.txt", "a.txt/b"));
        assert!(m("dir/*.txt", "dir/a.txt"));
        assert!(!m("dir/*.txt", "dir/sub/a.txt"));
        assert!(m("dir/?.txt", "dir/a.txt"));
        assert!(!m("dir?a", "dir/a"));
        assert!(m("*", ""));
        assert!(!m("?", ""));
    }

    #[test]
    fn globstar_spans_components() {
        assert!(m("dir/**/*.txt", "dir/a.txt"));
        assert!(m("dir/**/*.txt", "dir/x/y/a.txt"));
        assert!(!m("dir/**/*.txt", "other/a.txt"));
        assert!(m("**/cache", "cache"));
        assert!(m("**/cache", "a/b/cache"));
        assert!(m("dir/**", "dir/a/b"));
        assert!(m("/top/*", "top/x"), "a leading slash anchors at the root");
        assert!(m("a**b/c", "axxb/c"), "** inside a component is a plain *");
        assert!(!m("a**b/c", "ax/xb/c"));
    }

    #[test]
    fn classes() {
        assert!(m("[abc].log", "b.log"));
        assert!(!m("[abc].log", "d.log"));
        assert!(m("[!abc].log", "d.log"));
        assert!(m("[^abc].log", "d.log"));
        assert!(m("file[0-9]", "file7"));
        assert!(!m("file[0-9]", "filex"));
        assert!(m("[]]", "]"));
        assert!(m("[a-]", "-"));
        assert!(m("x[é-ü]", "xö"));
        assert!(!m("a[/]b", "a/b"), "classes never match the separator");
    }

    #[test]
    fn escapes_and_odd_names() {
        assert!(m(r"\*.txt", "*.txt"));
        assert!(!m(r"\*.txt", "a.txt"));
        assert!(m("-rf *", "-rf now"));
        assert!(m("ünï*", "dir/ünïcode"));
        assert!(m("with space*", "with space.bin"));
    }

    #[test]
    fn bad_patterns() {
        assert!(Glob::new("").is_err());
        assert!(Glob::new("[abc").is_err());
        assert!(Glob::new("abc\\").is_err());
        assert!(Glob::new("[z-a]").is_err());
    }

    #[test]
    fn filter_rules() {
        let f = Filter::new(&["*.txt", "keep/**"], &["secret*", "tmp"]).unwrap();
        assert!(f.file_selected("a/b.txt"));
        assert!(f.file_selected("keep/x.bin"));
        assert!(!f.file_selected("a/b.bin"));
        assert!(!f.file_selected("secret.txt"));
        assert!(f.dir_excluded("a/tmp"));
        assert!(!f.dir_excluded("a/keep"));
        let all = Filter::new::<&str>(&[], &[]).unwrap();
        assert!(all.file_selected("anything/at/all"));
        assert!(!all.has_includes());
    }
}
