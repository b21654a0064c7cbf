//! A create body as the daemon reads it, restated from Go's `encoding/json` (what moby's
//! `runconfig` decoder uses) and checked against Engine 20.10: written apart from the
//! adapter's reader so the two can disagree.
//!
//! - The decoder reads one value and ignores what follows it (`json.Decoder.Decode`).
//! - A byte of invalid UTF-8 inside a string, and a `\uXXXX` surrogate escape that is not
//!   half of a valid pair, each read as U+FFFD.
//! - A key names a struct field when it equals the field's name under Unicode simple case
//!   folding: for our ASCII names, ASCII letters in either case, plus U+212A KELVIN SIGN for
//!   `k` and U+017F LATIN SMALL LETTER LONG S for `s`. When several keys name one field the
//!   daemon merges them in document order, so such a body has no single reading here.

use serde_json::{Map, Value};

/// The first JSON value of `body` as the daemon reads it; `None` when it reads none.
pub fn read(body: &[u8]) -> Option<Value> {
    let text = escape_lone_surrogates(&replace_invalid_utf8(body));
    serde_json::Deserializer::from_str(&text)
        .into_iter::<Value>()
        .next()?
        .ok()
}

/// Every byte that is not part of valid UTF-8 becomes U+FFFD, one for each byte (Go's
/// `utf8.DecodeRune` consumes one byte of an invalid sequence).
fn replace_invalid_utf8(mut bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    loop {
        match std::str::from_utf8(bytes) {
            Ok(rest) => {
                out.push_str(rest);
                return out;
            }
            Err(e) => {
                let good = e.valid_up_to();
                out.push_str(std::str::from_utf8(&bytes[..good]).expect("valid prefix"));
                out.push('\u{FFFD}');
                bytes = &bytes[good + 1..];
            }
        }
    }
}

/// Inside strings, every surrogate escape that is not a high one followed by a low one
/// becomes `\uFFFD`. Outside strings nothing changes.
fn escape_lone_surrogates(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if !in_string {
            in_string = c == '"';
            out.push(c);
            i += 1;
            continue;
        }
        match c {
            '"' => {
                in_string = false;
                out.push(c);
                i += 1;
            }
            '\\' => {
                let next = surrogate_at(&chars, i + 6);
                match surrogate_at(&chars, i) {
                    Some(0xD800..=0xDBFF) if matches!(next, Some(0xDC00..=0xDFFF)) => {
                        out.extend(&chars[i..i + 12]);
                        i += 12;
                    }
                    Some(_) => {
                        out.push_str("\\uFFFD");
                        i += 6;
                    }
                    None => {
                        // Any other escape: copied whole, so an escaped quote stays escaped.
                        out.extend(chars.get(i..(i + 2).min(chars.len())).unwrap_or_default());
                        i += 2;
                    }
                }
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// The code of a `\uXXXX` escape at `chars[i..]` when it is a surrogate (D800 to DFFF).
fn surrogate_at(chars: &[char], i: usize) -> Option<u32> {
    if chars.get(i) != Some(&'\\') || chars.get(i + 1) != Some(&'u') {
        return None;
    }
    let hex: String = chars.get(i + 2..i + 6)?.iter().collect();
    if !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let code = u32::from_str_radix(&hex, 16).ok()?;
    (0xD800..=0xDFFF).contains(&code).then_some(code)
}

/// True when the daemon reads key `key` into the field named `field` (ASCII).
pub fn names(key: &str, field: &str) -> bool {
    let mut keys = key.chars();
    for f in field.chars() {
        let c = match keys.next() {
            Some('\u{212A}') => 'k',
            Some('\u{17F}') => 's',
            Some(c) => c,
            None => return false,
        };
        if !c.eq_ignore_ascii_case(&f) {
            return false;
        }
    }
    keys.next().is_none()
}

/// What an object gives for one field.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Field<'a> {
    /// No key names it.
    Absent,
    /// Exactly one key names it: the key and its value.
    One(&'a str, &'a Value),
    /// Several keys name it: the daemon merges them.
    Several,
}

impl<'a> Field<'a> {
    /// The value, when exactly one key gives it.
    pub fn value(self) -> Option<&'a Value> {
        match self {
            Field::One(_, v) => Some(v),
            _ => None,
        }
    }

    /// The key, when exactly one gives the field.
    pub fn key(self) -> Option<&'a str> {
        match self {
            Field::One(k, _) => Some(k),
            _ => None,
        }
    }
}

/// Field `name` of `obj`.
pub fn field<'a>(obj: &'a Map<String, Value>, name: &str) -> Field<'a> {
    let mut found = obj.iter().filter(|(k, _)| names(k, name));
    match (found.next(), found.next()) {
        (None, _) => Field::Absent,
        (Some((k, v)), None) => Field::One(k, v),
        (Some(_), Some(_)) => Field::Several,
    }
}

/// Every value given for field `name` of `obj`, whatever its spelling.
pub fn spellings<'a>(
    obj: &'a Map<String, Value>,
    name: &'a str,
) -> impl Iterator<Item = &'a Value> {
    obj.iter()
        .filter(move |(k, _)| names(k, name))
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_as_engine_20_10_does() {
        // Each of these was sent to dockerd 20.10 and created a container.
        assert_eq!(read(b"{\"A\":1} garbage"), Some(json!({"A": 1})));
        assert_eq!(read(b"{\"A\":1}}"), Some(json!({"A": 1})));
        assert_eq!(read(b"{\"A\":\"\xff\"}"), Some(json!({"A": "\u{FFFD}"})));
        assert_eq!(
            read(b"{\"A\":\"\xf0\x9f\x98\"}"),
            Some(json!({"A": "\u{FFFD}\u{FFFD}\u{FFFD}"}))
        );
        assert_eq!(read(br#"{"A":"\ud800"}"#), Some(json!({"A": "\u{FFFD}"})));
        assert_eq!(
            read(br#"{"A":"\ud83d\ude00"}"#),
            Some(json!({"A": "\u{1F600}"}))
        );
        assert_eq!(
            read(br#"{"A":"\ud83d\ud83d\ude00"}"#),
            Some(json!({"A": "\u{FFFD}\u{1F600}"}))
        );
        assert_eq!(read(br#"{"A":"\\ud800"}"#), Some(json!({"A": "\\ud800"})));
        assert_eq!(
            read(br#"{"A":"\"\ude00"}"#),
            Some(json!({"A": "\"\u{FFFD}"}))
        );
        assert_eq!(read(b"not json"), None);
        assert_eq!(read(b""), None);
    }

    #[test]
    fn keys_fold_like_go() {
        assert!(names("HostConfig", "HostConfig"));
        assert!(names("hostconfig", "HostConfig"));
        assert!(names("Ho\u{17F}tConfig", "HostConfig"));
        assert!(names("Networ\u{212A}Mode", "NetworkMode"));
        assert!(!names("HostConfi", "HostConfig"));
        assert!(!names("HostConfigs", "HostConfig"));
        assert!(!names("Hostconf\u{131}g", "HostConfig"));
        let obj = json!({"Env": [], "env": null, "Cmd": 1});
        let obj = obj.as_object().unwrap();
        assert_eq!(field(obj, "Env"), Field::Several);
        assert_eq!(field(obj, "CMD"), Field::One("Cmd", &json!(1)));
        assert_eq!(field(obj, "Image"), Field::Absent);
        assert_eq!(spellings(obj, "ENV").count(), 2);
    }
}
