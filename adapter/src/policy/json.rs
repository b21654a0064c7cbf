//! Reading a create body the way the daemon will: Go's `encoding/json` matches a field name
//! by its exact spelling first, then ASCII case-insensitively, and Docker's `StrSlice`
//! takes a string as a one-element list (moby `api/types/strslice`).

use serde_json::{Map, Value};

/// The key under which `obj` holds field `name`, as spelled in the object: the exact
/// spelling first, then an ASCII case-insensitive match (Go's `encoding/json`).
pub fn key_of(obj: &Map<String, Value>, name: &str) -> Option<String> {
    if obj.contains_key(name) {
        return Some(name.to_string());
    }
    obj.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned()
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
