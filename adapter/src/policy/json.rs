//! Reading a create body the way the daemon will (Go's `encoding/json`, checked against
//! dockerd 20.10):
//! - the decoder reads the first JSON value and ignores what follows it;
//! - inside strings, a byte of invalid UTF-8 and a `\uXXXX` surrogate escape that is not
//!   half of a pair each read as U+FFFD;
//! - a key names a field when it equals the field's name under Unicode simple case
//!   folding: ASCII letters in either case, and U+212A KELVIN SIGN for `k`, U+017F LATIN
//!   SMALL LETTER LONG S for `s`. When several keys name one field the daemon merges what
//!   they give in document order ([`spellings`] finds them);
//! - Docker's `StrSlice` takes a string as a one-element list (moby `api/types/strslice`).

use serde_json::{Map, Value};

/// The first JSON value of `body` as the daemon reads it; `None` when it reads none.
pub fn read_body(body: &[u8]) -> Option<Value> {
    let first = |text: &[u8]| {
        serde_json::Deserializer::from_slice(text)
            .into_iter::<Value>()
            .next()
            .and_then(Result::ok)
    };
    // Only a body serde_json refuses is read again the lenient way, so every other one is
    // kept as it came.
    first(body).or_else(|| first(go_strings(body).as_bytes()))
}

/// `body` with what Go reads as U+FFFD written as such: each byte of invalid UTF-8 (Go's
/// `utf8.DecodeRune` takes one byte of an invalid sequence), and inside strings each
/// surrogate escape that is not a high one followed by a low one.
fn go_strings(body: &[u8]) -> String {
    let text: String = body
        .utf8_chunks()
        .flat_map(|chunk| {
            let bad = chunk.invalid().len();
            chunk
                .valid()
                .chars()
                .chain(std::iter::repeat_n('\u{FFFD}', bad))
        })
        .collect();
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    let mut in_string = false;
    while let Some(c) = rest.chars().next() {
        let escape = rest.strip_prefix("\\u").and_then(|r| r.get(..4));
        let code = escape.and_then(|hex| u16::from_str_radix(hex, 16).ok());
        match (in_string, c, code) {
            (true, '\\', Some(0xD800..=0xDBFF)) => {
                let low = rest
                    .get(6..8)
                    .filter(|u| *u == "\\u")
                    .and_then(|_| rest.get(8..12))
                    .and_then(|hex| u16::from_str_radix(hex, 16).ok());
                if matches!(low, Some(0xDC00..=0xDFFF)) {
                    out.push_str(&rest[..12]);
                    rest = &rest[12..];
                } else {
                    out.push_str("\\uFFFD");
                    rest = &rest[6..];
                }
            }
            (true, '\\', Some(0xDC00..=0xDFFF)) => {
                out.push_str("\\uFFFD");
                rest = &rest[6..];
            }
            (true, '\\', _) => {
                // Any other escape whole, so that an escaped quote ends no string.
                let len = rest[1..].chars().next().map_or(1, |e| 1 + e.len_utf8());
                out.push_str(&rest[..len]);
                rest = &rest[len..];
            }
            _ => {
                in_string ^= c == '"';
                out.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    out
}

/// True when the daemon reads key `key` into the field named `name` (ASCII).
pub fn names(key: &str, name: &str) -> bool {
    let mut folded = key.chars().map(|c| match c {
        '\u{212A}' => 'k',
        '\u{17F}' => 's',
        c => c,
    });
    name.chars()
        .all(|n| folded.next().is_some_and(|k| k.eq_ignore_ascii_case(&n)))
        && folded.next().is_none()
}

/// The keys of `obj` that name field `name`, in the object's order.
pub fn spellings<'a>(obj: &'a Map<String, Value>, name: &str) -> Vec<&'a str> {
    obj.keys()
        .filter(|k| names(k, name))
        .map(String::as_str)
        .collect()
}

/// The key under which `obj` holds field `name`, as spelled in the object: the exact
/// spelling first, then the first key that names it ([`names`]). A body that names a field
/// the decision reads more than once is refused before (see `create`).
pub fn key_of(obj: &Map<String, Value>, name: &str) -> Option<String> {
    if obj.contains_key(name) {
        return Some(name.to_string());
    }
    obj.keys().find(|k| names(k, name)).cloned()
}

/// Field `name` of `obj`, looked up like [`key_of`].
pub fn field<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    key_of(obj, name).and_then(|k| obj.get(&k))
}

/// Field `name` of `value` when `value` is an object, looked up like [`key_of`].
pub fn field_of<'a>(value: &'a Value, name: &str) -> Option<&'a Value> {
    value.as_object().and_then(|obj| field(obj, name))
}

/// The JSON type of `v` in words, for messages (`a number`).
pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Docker's `strslice.StrSlice`: a string counts as a one-element list, null or absent as
/// nil (`Ok(None)`). `Err` carries the JSON type found when it is none of these.
pub fn str_slice(v: Option<&Value>) -> Result<Option<Vec<String>>, &'static str> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(vec![s.clone()])),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| i.as_str().map(str::to_string).ok_or_else(|| kind(i)))
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(other) => Err(kind(other)),
    }
}

/// A JSON array of strings.
pub fn string_array(items: Vec<String>) -> Value {
    Value::Array(items.into_iter().map(Value::String).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bodies_read_as_dockerd_reads_them() {
        // dockerd 20.10 created a container from each of these.
        assert_eq!(read_body(b"{\"A\":1} garbage"), Some(json!({"A": 1})));
        assert_eq!(read_body(b"{\"A\":1}}"), Some(json!({"A": 1})));
        assert_eq!(
            read_body(b"{\"A\":\"\xff\"}"),
            Some(json!({"A": "\u{FFFD}"}))
        );
        assert_eq!(
            read_body(b"{\"A\":\"\xf0\x9f\x98\"}"),
            Some(json!({"A": "\u{FFFD}\u{FFFD}\u{FFFD}"}))
        );
        assert_eq!(
            read_body(br#"{"A":"\ud800"}"#),
            Some(json!({"A": "\u{FFFD}"}))
        );
        assert_eq!(
            read_body(br#"{"A":"\ud83d\ud83d\ude00","B":"\ude00\\ud800"}"#),
            Some(json!({"A": "\u{FFFD}\u{1F600}", "B": "\u{FFFD}\\ud800"}))
        );
        assert_eq!(
            read_body(br#"{"A\"\ud800":1}"#),
            Some(json!({"A\"\u{FFFD}": 1}))
        );
        assert_eq!(
            read_body(b"{\"A\":1.50}").unwrap().to_string(),
            "{\"A\":1.50}"
        );
        for refused in [&b"not json"[..], b"", b"{\"A\":\x01}", b"{\xff:1}"] {
            assert_eq!(read_body(refused), None, "{refused:?}");
        }
    }

    #[test]
    fn keys_fold_as_go_folds_them() {
        for key in ["HostConfig", "hostconfig", "HOSTCONFIG", "Ho\u{17F}tConfig"] {
            assert!(names(key, "HostConfig"), "{key}");
        }
        assert!(names("Networ\u{212A}Mode", "NetworkMode"));
        for key in [
            "HostConfi",
            "HostConfigs",
            "Ho\u{17F}\u{17F}Config",
            "Host\u{131}onfig",
        ] {
            assert!(!names(key, "HostConfig"), "{key}");
        }
        let obj = json!({"env": 1, "Cmd": 2, "ENV": 3, "Env": 4});
        let obj = obj.as_object().unwrap();
        assert_eq!(spellings(obj, "Env"), ["env", "ENV", "Env"]);
        assert_eq!(key_of(obj, "Env").as_deref(), Some("Env"));
        assert_eq!(key_of(obj, "cmd").as_deref(), Some("Cmd"));
    }
}
