//! The `--label key=value` scope (docs/design.md §5): an adapter or proxy scoped to a label
//! rewrites and attaches only containers carrying it, so several can share one daemon.

use std::fmt;
use std::str::FromStr;

/// The label an adapter is scoped to; `Scope::default()` (no label) admits every container.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope(Option<(String, String)>);

impl Scope {
    /// The scope of `key=value`, or of every container when `None`.
    pub fn new(label: Option<(String, String)>) -> Scope {
        Scope(label)
    }

    /// The `(key, value)` label, `None` when every container is in scope.
    pub fn label(&self) -> Option<(&str, &str)> {
        self.0.as_ref().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// True when no label is set, or `label_value(key)` (the container's value of the
    /// scope's key, if it has one as a string) is exactly the scope's value.
    pub fn admits<'a>(&self, label_value: impl FnOnce(&str) -> Option<&'a str>) -> bool {
        match &self.0 {
            None => true,
            Some((key, value)) => label_value(key) == Some(value.as_str()),
        }
    }
}

/// `key=value`, as `--label` takes it.
impl FromStr for Scope {
    type Err = String;

    fn from_str(s: &str) -> Result<Scope, String> {
        match s.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok(Scope(Some((k.to_string(), v.to_string())))),
            _ => Err(format!("label {s:?} is not key=value")),
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some((k, v)) => write!(f, "{k}={v}"),
            None => f.write_str("every container"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_parse_as_key_equals_value() {
        let s: Scope = "nc=2".parse().unwrap();
        assert_eq!(s.label(), Some(("nc", "2")));
        assert_eq!("a=".parse::<Scope>().unwrap().label(), Some(("a", "")));
        for bad in ["", "=x", "nc"] {
            let err = bad.parse::<Scope>().unwrap_err();
            assert!(err.contains("is not key=value"), "{err}");
        }
    }

    #[test]
    fn a_scope_admits_only_its_value() {
        let s: Scope = "nc=2".parse().unwrap();
        assert!(s.admits(|k| (k == "nc").then_some("2")));
        assert!(!s.admits(|_| Some("3")));
        assert!(!s.admits(|_| None));
        assert!(Scope::default().admits(|_| None));
    }
}
