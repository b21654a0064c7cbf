//! Python's `fnmatch.fnmatch` on POSIX, as powerstrip uses it to match `"METHOD path"`
//! against the endpoint keys of `adapters.yml` (powerstrip `_parser.py`).
//!
//! Semantics copied from CPython `fnmatch.translate` (3.x): the whole string must match
//! (anchored), matching is case-sensitive (POSIX `normcase` is the identity), `*` matches any
//! run of characters including `/` and newlines, `?` exactly one character, `[...]` a set
//! (`!` first negates, `]` first is a member, `a-z` ranges, reversed ranges match nothing),
//! and a `[` without its closing `]` is a literal `[`. Characters are Unicode scalar values.

/// One compiled element of a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// This exact character.
    Literal(char),
    /// `?`: any one character.
    AnyChar,
    /// `*`: any run of characters, the empty run included.
    Star,
    /// `[...]`: one character in (or, negated, not in) the ranges (single characters are
    /// ranges of one).
    Set {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

/// A compiled fnmatch pattern; compile once with [`Pattern::new`], match many times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    tokens: Vec<Token>,
}

impl Pattern {
    /// Compiles `pattern`. Never fails: like Python, every string is a valid pattern.
    pub fn new(pattern: &str) -> Pattern {
        let pat: Vec<char> = pattern.chars().collect();
        let n = pat.len();
        let mut tokens = Vec::new();
        let mut i = 0;
        while i < n {
            let c = pat[i];
            i += 1;
            match c {
                '*' => {
                    // Consecutive stars are one star (translate() compresses them too).
                    if tokens.last() != Some(&Token::Star) {
                        tokens.push(Token::Star);
                    }
                }
                '?' => tokens.push(Token::AnyChar),
                '[' => {
                    // Find the closing `]` exactly as translate() does: a leading `!` and
                    // then a leading `]` belong to the set.
                    let mut j = i;
                    if j < n && pat[j] == '!' {
                        j += 1;
                    }
                    if j < n && pat[j] == ']' {
                        j += 1;
                    }
                    while j < n && pat[j] != ']' {
                        j += 1;
                    }
                    if j >= n {
                        tokens.push(Token::Literal('['));
                    } else {
                        tokens.push(compile_set(&pat[i..j]));
                        i = j + 1;
                    }
                }
                other => tokens.push(Token::Literal(other)),
            }
        }
        Pattern { tokens }
    }

    /// True when the whole of `text` matches the pattern.
    pub fn matches(&self, text: &str) -> bool {
        let text: Vec<char> = text.chars().collect();
        let toks = &self.tokens;
        let (mut t, mut p) = (0usize, 0usize);
        // Where to resume after the last star: (token after the star, text position).
        let mut backtrack: Option<(usize, usize)> = None;
        while t < text.len() {
            if p < toks.len() {
                match &toks[p] {
                    Token::Star => {
                        backtrack = Some((p + 1, t));
                        p += 1;
                        continue;
                    }
                    tok if single_matches(tok, text[t]) => {
                        p += 1;
                        t += 1;
                        continue;
                    }
                    _ => {}
                }
            }
            // Mismatch: let the last star swallow one more character, or fail.
            match backtrack {
                Some((bp, bt)) => {
                    backtrack = Some((bp, bt + 1));
                    p = bp;
                    t = bt + 1;
                }
                None => return false,
            }
        }
        toks[p..].iter().all(|tok| *tok == Token::Star)
    }
}

/// True when `pattern` matches the whole of `text` (Python `fnmatch.fnmatch` on POSIX).
pub fn fnmatch(text: &str, pattern: &str) -> bool {
    Pattern::new(pattern).matches(text)
}

fn single_matches(tok: &Token, c: char) -> bool {
    match tok {
        Token::Literal(l) => *l == c,
        Token::AnyChar => true,
        Token::Set { negated, ranges } => {
            ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != *negated
        }
        Token::Star => false,
    }
}

/// The set between `[` and `]` (exclusive), following translate(): split into chunks at
/// the range hyphens, drop reversed ranges, then read the result as a regex class would.
fn compile_set(body: &[char]) -> Token {
    // Each element: Some(c) is a literal character, None a range hyphen between chunks.
    let mut items: Vec<Option<char>> = Vec::new();
    if !body.contains(&'-') {
        items.extend(body.iter().copied().map(Some));
    } else {
        let mut chunks: Vec<Vec<char>> = Vec::new();
        let mut start = 0;
        let mut k = if body[0] == '!' { 2 } else { 1 };
        while let Some(off) = body
            .get(k..)
            .and_then(|rest| rest.iter().position(|&c| c == '-'))
        {
            let dash = k + off;
            chunks.push(body[start..dash].to_vec());
            start = dash + 1;
            k = dash + 3;
        }
        let last = body[start..].to_vec();
        if last.is_empty() {
            // A trailing hyphen is a literal member.
            chunks.last_mut().expect("a hyphen was found").push('-');
        } else {
            chunks.push(last);
        }
        // Remove reversed ranges (`z-a`): they are empty, not errors.
        let mut idx = chunks.len() - 1;
        while idx > 0 {
            let prev_last = chunks[idx - 1].last().copied();
            let next_first = chunks[idx].first().copied();
            if let (Some(a), Some(b)) = (prev_last, next_first) {
                if a > b {
                    let tail: Vec<char> = chunks[idx][1..].to_vec();
                    chunks[idx - 1].pop();
                    chunks[idx - 1].extend(tail);
                    chunks.remove(idx);
                }
            }
            idx -= 1;
        }
        for (n, chunk) in chunks.iter().enumerate() {
            if n > 0 {
                items.push(None);
            }
            items.extend(chunk.iter().copied().map(Some));
        }
    }
    // A leading unescaped `!` negates (translate() turns it into `^`).
    let negated = items.first() == Some(&Some('!'));
    if negated {
        items.remove(0);
    }
    // Read like a regex character class: `a-b` is a range, a hyphen with nothing after it
    // is literal.
    let mut ranges = Vec::new();
    let mut i = 0;
    while i < items.len() {
        let a = items[i].unwrap_or('-');
        if i + 1 < items.len() && items[i + 1].is_none() {
            if let Some(b) = items.get(i + 2) {
                ranges.push((a, b.unwrap_or('-')));
                i += 3;
            } else {
                ranges.push((a, a));
                ranges.push(('-', '-'));
                i += 2;
            }
        } else {
            ranges.push((a, a));
            i += 1;
        }
    }
    Token::Set { negated, ranges }
}

#[cfg(test)]
mod tests {
    use super::fnmatch;

    /// (text, pattern, what CPython 3.11 `fnmatch.fnmatch` answers).
    const PYTHON: &[(&str, &str, bool)] = &[
        (
            "POST /v1.41/containers/create",
            "POST /*/containers/create",
            true,
        ),
        (
            "POST /containers/create",
            "POST /*/containers/create",
            false,
        ),
        (
            "POST /v1.41/containers/a/b/start",
            "POST /*/containers/*/start",
            true,
        ),
        (
            "post /v1/containers/create",
            "POST /*/containers/create",
            false,
        ),
        ("GET /a", "GET /?", true),
        ("GET /ab", "GET /?", false),
        ("a[", "a[", true),
        ("ab", "a[b", false),
        ("a[b", "a[b", true),
        ("b", "[a-c]", true),
        ("d", "[a-c]", false),
        ("-", "[a-]", true),
        ("-", "[-a]", true),
        ("a", "[!a]", false),
        ("b", "[!a]", true),
        ("]", "[]]", true),
        ("a", "[]a]", true),
        ("]", "[!]]", false),
        ("x", "[!]]", true),
        ("b", "[z-a]", false),
        ("!", "[!]", false),
        ("x", "[!]", false),
        ("[!]", "[!]", true),
        ("a", "[z-a-c]", false),
        ("-", "[z-a-c]", true),
        ("c", "[z-a-c]", true),
        ("b", "[a-c-e]", true),
        ("-", "[a-c-e]", true),
        ("d", "[a-c-e]", false),
        ("e", "[a-c-e]", true),
        ("-", "[!-a]", false),
        ("b", "[!-a]", true),
        ("!", "[!-a]", true),
        ("^", "[^a]", true),
        ("b", "[^a]", false),
        ("\\", "[\\]", true),
        ("x", "[\\]", false),
        ("a\nb", "a*b", true),
        ("abc", "*", true),
        ("", "*", true),
        ("", "?", false),
        ("abcbcd", "a*bcd", true),
        ("aXbYc", "a*b*c", true),
        ("ab", "a*b*c", false),
        ("b", "[ab-c-e]", true),
        ("d", "[ab-c-e]", false),
        ("[", "[[]", true),
        ("x", "[[]x", false),
        ("é", "?", true),
        ("é", "[à-ê]", true),
    ];

    #[test]
    fn agrees_with_python_fnmatch() {
        for &(text, pattern, expected) in PYTHON {
            assert_eq!(
                fnmatch(text, pattern),
                expected,
                "fnmatch({text:?}, {pattern:?})"
            );
        }
    }

    #[test]
    fn star_backtracks_over_slashes() {
        assert!(fnmatch(
            "GET /v1.41/containers/abc/json",
            "GET /*/containers/*/json"
        ));
        assert!(!fnmatch(
            "GET /v1.41/containers/abc/json/x",
            "GET /*/containers/*/json"
        ));
        assert!(fnmatch("POST /v1.41/a/b/c", "POST *"));
    }
}
