//! A small, linear-time glob matcher for exception patterns over object keys and paths inside artifacts.
//! `*` matches within one path segment, `**` across segments, `?` one character, `[abc]`/`[a-z]`/`[!x]` a class.

/// A compiled glob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    source: String,
    tokens: Vec<Tok>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Lit(char),
    Any,      // ?
    Star,     // *
    StarStar, // **
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

impl Glob {
    /// Compiles a pattern; errors describe the problem.
    pub fn new(pattern: &str) -> Result<Glob, String> {
        if pattern.is_empty() {
            return Err("empty pattern".into());
        }
        let chars: Vec<char> = pattern.chars().collect();
        let mut tokens = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            match chars[i] {
                '*' => {
                    if chars.get(i + 1) == Some(&'*') {
                        tokens.push(Tok::StarStar);
                        i += 2;
                        // `**/` also matches zero segments
                        if chars.get(i) == Some(&'/') {
                            i += 1;
                            tokens.push(Tok::Lit('\u{0}')); // marker: optional slash, handled below
                        }
                        continue;
                    }
                    tokens.push(Tok::Star);
                }
                '?' => tokens.push(Tok::Any),
                '[' => {
                    let mut j = i + 1;
                    let negated = matches!(chars.get(j), Some('!') | Some('^'));
                    if negated {
                        j += 1;
                    }
                    let mut ranges = Vec::new();
                    let mut closed = false;
                    let mut first = true;
                    while j < chars.len() {
                        let c = chars[j];
                        if c == ']' && !first {
                            closed = true;
                            break;
                        }
                        first = false;
                        if chars.get(j + 1) == Some(&'-')
                            && chars.get(j + 2).is_some_and(|&e| e != ']')
                        {
                            let end = chars[j + 2];
                            if end < c {
                                return Err(format!("bad range `{c}-{end}` in `{pattern}`"));
                            }
                            ranges.push((c, end));
                            j += 3;
                        } else {
                            ranges.push((c, c));
                            j += 1;
                        }
                    }
                    if !closed {
                        return Err(format!("unclosed `[` in `{pattern}`"));
                    }
                    tokens.push(Tok::Class { negated, ranges });
                    i = j;
                }
                '\\' => {
                    let c = *chars
                        .get(i + 1)
                        .ok_or_else(|| format!("trailing `\\` in `{pattern}`"))?;
                    tokens.push(Tok::Lit(c));
                    i += 1;
                }
                c => tokens.push(Tok::Lit(c)),
            }
            i += 1;
        }
        Ok(Glob {
            source: pattern.to_string(),
            tokens,
        })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Matches the whole of `text`.
    pub fn is_match(&self, text: &str) -> bool {
        let text: Vec<char> = text.chars().collect();
        // Dynamic programming over (token index, text index): O(tokens × text), no backtracking blow-up.
        let n = text.len();
        let mut cur = vec![false; n + 1];
        cur[0] = true;
        for tok in &self.tokens {
            let mut next = vec![false; n + 1];
            match tok {
                Tok::Star | Tok::StarStar => {
                    let cross = matches!(tok, Tok::StarStar);
                    let mut reach = false;
                    for j in 0..=n {
                        if cur[j] {
                            reach = true;
                        }
                        next[j] = reach;
                        if j < n && !cross && text[j] == '/' {
                            reach = false;
                        }
                    }
                }
                Tok::Lit('\u{0}') => {
                    // optional `/` after `**`
                    for j in 0..=n {
                        if cur[j] {
                            next[j] = true;
                            if j < n && text[j] == '/' {
                                next[j + 1] = true;
                            }
                        }
                    }
                }
                _ => {
                    for j in 0..n {
                        if cur[j] && single(tok, text[j]) {
                            next[j + 1] = true;
                        }
                    }
                }
            }
            cur = next;
        }
        cur[n]
    }
}

fn single(tok: &Tok, c: char) -> bool {
    match tok {
        Tok::Lit(l) => *l == c,
        Tok::Any => c != '/',
        Tok::Class { negated, ranges } => {
            let hit = ranges.iter().any(|&(a, b)| a <= c && c <= b);
            hit != *negated && c != '/'
        }
        Tok::Star | Tok::StarStar => false,
    }
}

#[cfg(test)]
mod tests {
    use super::Glob;

    #[test]
    fn table() {
        let cases = [
            ("*.whl", "x-1.0.whl", true),
            ("*.whl", "dir/x.whl", false),
            ("**/*.whl", "dir/x.whl", true),
            ("**/*.whl", "x.whl", true),
            ("releases/**", "releases/a/b/c.tgz", true),
            ("releases/*", "releases/a/b.tgz", false),
            ("file?.txt", "file1.txt", true),
            ("file?.txt", "file/.txt", false),
            ("[a-c]x", "bx", true),
            ("[!a-c]x", "bx", false),
            ("[!a-c]x", "dx", true),
            ("a\\*b", "a*b", true),
            ("a\\*b", "axb", false),
            ("vendor/**/LICENSE", "vendor/LICENSE", true),
            ("vendor/**/LICENSE", "vendor/a/b/LICENSE", true),
        ];
        for (p, t, want) in cases {
            assert_eq!(Glob::new(p).unwrap().is_match(t), want, "{p} vs {t}");
        }
    }

    #[test]
    fn pathological_patterns_are_linear() {
        let g = Glob::new("*a*a*a*a*a*a*a*a*a*a*b").unwrap();
        let text = "a".repeat(5000);
        assert!(!g.is_match(&text));
    }

    #[test]
    fn errors() {
        assert!(Glob::new("").is_err());
        assert!(Glob::new("a[").is_err());
        assert!(Glob::new("[z-a]").is_err());
        assert!(Glob::new("a\\").is_err());
    }
}
