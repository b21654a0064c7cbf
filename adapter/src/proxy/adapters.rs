//! `adapters.yml`: the external powerstrip adapters chained by the proxy (pure: text in,
//! configuration out; matching a request to its hooks).
//!
//! Format and checks as powerstrip `_config.py`:
//! ```yaml
//! version: 1                      # optional, ignored
//! endpoints:
//!   "POST /*/containers/create":
//!     pre: [flocker]
//!     post: [flocker]
//! adapters:
//!   flocker: http://flocker:9999/v1/extension
//! ```
//! `endpoints` and `adapters` are required; each endpoint needs at least one of `pre`/`post`
//! and no other key; every adapter named must be defined. Keys are matched with
//! [`fnmatch`](super::fnmatch) against `"METHOD path"` (query removed). Powerstrip runs the
//! hooks of every matching endpoint in an undefined order; here it is file order.

use std::fmt;

use hyper::Uri;
use serde::Deserialize;
use serde_yaml_ng::{Mapping, Value};

use super::fnmatch::Pattern;

/// A parse or consistency error of `adapters.yml`, naming the key at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid adapters configuration: {0}")]
pub struct ConfigError(pub String);

/// Where one adapter listens: `http://host[:port]/path` (powerstrip posts one envelope per
/// hook, a new connection each time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdapterUrl {
    /// The URL as written in the file, for messages.
    pub url: String,
    /// Host name or address to connect to (IPv6 without brackets).
    pub host: String,
    /// TCP port (80 when absent).
    pub port: u16,
    /// `host[:port]` as written, for the `Host` header.
    pub authority: String,
    /// Path and query sent in the request line (`/` when absent).
    pub path: String,
}

impl AdapterUrl {
    /// Parses an `http://` URL. Errors name the URL; `https://` is refused (powerstrip
    /// adapters speak plain HTTP on a private network).
    pub fn parse(url: &str) -> Result<AdapterUrl, ConfigError> {
        let expected = || {
            ConfigError(format!(
                "adapter URL {url:?}: expected http://host[:port]/path"
            ))
        };
        let uri: Uri = url.parse().map_err(|_| expected())?;
        if uri.scheme_str() != Some("http") {
            return Err(ConfigError(format!(
                "adapter URL {url:?}: only http://host[:port]/path URLs are supported"
            )));
        }
        let authority = uri.authority().ok_or_else(expected)?;
        if authority.as_str().contains('@') || authority.host().is_empty() {
            return Err(expected());
        }
        // `Uri` keeps a port it cannot read as text and answers `None` for it.
        let port = match authority.as_str()[authority.host().len()..].strip_prefix(':') {
            None => 80,
            Some(text) => authority
                .port_u16()
                .ok_or_else(|| ConfigError(format!("adapter URL {url:?}: bad port {text:?}")))?,
        };
        Ok(AdapterUrl {
            url: url.to_string(),
            host: authority
                .host()
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string(),
            port,
            authority: authority.to_string(),
            path: uri.path_and_query().map_or("/", |p| p.as_str()).to_string(),
        })
    }
}

impl fmt::Display for AdapterUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url)
    }
}

/// One external adapter as referenced by a hook: its name in the file and its URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalAdapter {
    /// The name under `adapters:`.
    pub name: String,
    /// Where to post the envelopes.
    pub url: AdapterUrl,
}

/// One `endpoints:` entry.
#[derive(Debug, Clone)]
struct Endpoint {
    pattern: Pattern,
    pre: Vec<ExternalAdapter>,
    post: Vec<ExternalAdapter>,
}

/// The hooks of one request, in the order they run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hooks {
    /// Pre-hooks: each sees the body the previous one returned.
    pub pre: Vec<ExternalAdapter>,
    /// Post-hooks: each sees the response body the previous one returned.
    pub post: Vec<ExternalAdapter>,
}

impl Hooks {
    /// True when no adapter is interested in the request.
    pub fn is_empty(&self) -> bool {
        self.pre.is_empty() && self.post.is_empty()
    }
}

/// A parsed `adapters.yml`.
#[derive(Debug, Clone, Default)]
pub struct AdaptersConfig {
    endpoints: Vec<Endpoint>,
}

/// One endpoint's hooks as written. An unknown key is refused by name; serde's
/// `deny_unknown_fields` would refuse it too, but without saying which endpoint.
#[derive(Deserialize)]
struct EndpointHooks {
    pre: Option<Vec<Name>>,
    post: Option<Vec<Name>>,
    #[serde(flatten)]
    unknown: Mapping,
}

/// A YAML scalar as the string Python would use as a dict key (`1` → `"1"`,
/// `true` → `"True"`).
#[derive(Deserialize)]
#[serde(untagged)]
enum Name {
    Text(String),
    Number(serde_yaml_ng::Number),
    Bool(bool),
}

impl Name {
    fn of(value: &Value) -> Option<String> {
        serde_yaml_ng::from_value::<Name>(value.clone())
            .ok()
            .map(String::from)
    }
}

impl From<Name> for String {
    fn from(n: Name) -> String {
        match n {
            Name::Text(s) => s,
            Name::Number(n) => n.to_string(),
            Name::Bool(b) => if b { "True" } else { "False" }.to_string(),
        }
    }
}

impl AdaptersConfig {
    /// Parses the YAML text of an `adapters.yml`; errors name the key at fault.
    pub fn parse(text: &str) -> Result<AdaptersConfig, ConfigError> {
        let doc: Value = serde_yaml_ng::from_str(text)
            .map_err(|e| ConfigError(format!("not valid YAML: {e}")))?;
        let top = doc
            .as_mapping()
            .ok_or_else(|| ConfigError("the document must be a mapping".into()))?;
        // Other top-level keys (`version`) are ignored, as powerstrip does; mappings keep the
        // file's order.
        let required = |key: &str, what: &str| {
            let value = top
                .get(key)
                .ok_or_else(|| ConfigError(format!("required key '{key}' is missing")))?;
            serde_yaml_ng::from_value::<Option<Mapping>>(value.clone())
                .map_err(|_| ConfigError(format!("'{key}' must {what}")))
        };
        let endpoints = required("endpoints", "be a mapping")?;
        let adapters = required("adapters", "map names to URLs")?
            .ok_or_else(|| ConfigError("'adapters' must map names to URLs".into()))?;
        let known = adapters
            .iter()
            .map(|(name, url)| {
                let name = Name::of(name).ok_or_else(|| {
                    ConfigError(format!("adapter name {name:?} must be a string"))
                })?;
                let url = url.as_str().ok_or_else(|| {
                    ConfigError(format!("adapter {name:?}: the URL must be a string"))
                })?;
                Ok(ExternalAdapter {
                    url: AdapterUrl::parse(url)?,
                    name,
                })
            })
            .collect::<Result<Vec<_>, ConfigError>>()?;
        let endpoints = endpoints
            .unwrap_or_default()
            .into_iter()
            .map(|(key, hooks)| endpoint(&key, hooks, &known))
            .collect::<Result<_, _>>()?;
        Ok(AdaptersConfig { endpoints })
    }

    /// The hooks for a request: `method` (`"POST"`) and `path` without its query string.
    pub fn hooks_for(&self, method: &str, path: &str) -> Hooks {
        let mut hooks = Hooks::default();
        if self.endpoints.is_empty() {
            return hooks;
        }
        let subject = format!("{method} {path}");
        for ep in self
            .endpoints
            .iter()
            .filter(|e| e.pattern.matches(&subject))
        {
            hooks.pre.extend(ep.pre.iter().cloned());
            hooks.post.extend(ep.post.iter().cloned());
        }
        hooks
    }

    /// True when the file configures no endpoint at all.
    pub fn is_empty(&self) -> bool {
        self.endpoints.is_empty()
    }
}

/// One `endpoints:` entry: the key is the fnmatch pattern, every adapter named must be
/// defined, and at least one of `pre`/`post` is given.
fn endpoint(key: &Value, hooks: Value, known: &[ExternalAdapter]) -> Result<Endpoint, ConfigError> {
    let key = Name::of(key)
        .ok_or_else(|| ConfigError(format!("endpoint key {key:?} must be a string")))?;
    match &hooks {
        Value::Mapping(m) if !m.is_empty() => {}
        Value::Mapping(_) | Value::Null => {
            return Err(ConfigError(format!(
                "no configuration found for endpoint {key:?} (expected pre: and/or post:)"
            )))
        }
        _ => {
            return Err(ConfigError(format!(
                "endpoint {key:?} must map pre:/post: to lists of adapter names"
            )))
        }
    }
    let hooks: EndpointHooks = serde_yaml_ng::from_value(hooks).map_err(|e| {
        ConfigError(format!(
            "endpoint {key:?}: pre and post must be lists of adapter names ({e})"
        ))
    })?;
    if let Some(unknown) = hooks.unknown.keys().next() {
        return Err(ConfigError(format!(
            "unknown key {unknown:?} in endpoint {key:?} (only pre and post)"
        )));
    }
    let lookup = |names: Option<Vec<Name>>| {
        names
            .unwrap_or_default()
            .into_iter()
            .map(|name| {
                let name = String::from(name);
                known.iter().find(|a| a.name == name).cloned().ok_or_else(|| {
                    ConfigError(format!(
                        "endpoint {key:?} uses adapter {name:?}, which is not defined under 'adapters'"
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()
    };
    Ok(Endpoint {
        pre: lookup(hooks.pre)?,
        post: lookup(hooks.post)?,
        pattern: Pattern::new(&key),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const WEAVE: &str = r#"
version: 1
endpoints:
  "POST /*/containers/create":
    pre: [weave]
  "POST /*/containers/*/start":
    post: [weave]
  "POST /*/containers/*/restart":
    post: [weave]
adapters:
  weave: http://weave/v1/extension
"#;

    fn names(list: &[ExternalAdapter]) -> Vec<&str> {
        list.iter().map(|a| a.name.as_str()).collect()
    }

    #[test]
    fn reads_powerstrip_weave_file() {
        let cfg = AdaptersConfig::parse(WEAVE).unwrap();
        let h = cfg.hooks_for("POST", "/v1.41/containers/create");
        assert_eq!(names(&h.pre), ["weave"]);
        assert!(h.post.is_empty());
        assert_eq!(h.pre[0].url.host, "weave");
        assert_eq!(h.pre[0].url.port, 80);
        assert_eq!(h.pre[0].url.path, "/v1/extension");
        let h = cfg.hooks_for("POST", "/v1.41/containers/web-1/start");
        assert_eq!(names(&h.post), ["weave"]);
        // Like powerstrip: the unversioned path does not match `/*/containers/create`.
        assert!(cfg.hooks_for("POST", "/containers/create").is_empty());
        assert!(cfg.hooks_for("GET", "/v1.41/containers/create").is_empty());
    }

    #[test]
    fn several_matching_endpoints_run_in_file_order() {
        let cfg = AdaptersConfig::parse(
            r#"
endpoints:
  "POST /*/containers/create":
    pre: [a, b]
    post: [b]
  "POST *":
    pre: [c]
adapters:
  a: http://127.0.0.1:81/x
  b: http://127.0.0.1:82/
  c: http://localhost:83
"#,
        )
        .unwrap();
        let h = cfg.hooks_for("POST", "/v1.41/containers/create");
        assert_eq!(names(&h.pre), ["a", "b", "c"]);
        assert_eq!(names(&h.post), ["b"]);
        assert_eq!(h.pre[2].url.path, "/");
        assert_eq!(h.pre[2].url.authority, "localhost:83");
    }

    #[test]
    fn configuration_errors_name_the_fault() {
        let cases = [
            ("adapters: {}\n", "'endpoints' is missing"),
            ("endpoints: {}\n", "'adapters' is missing"),
            (
                "endpoints:\n  \"GET *\": {}\nadapters: {}\n",
                "no configuration found for endpoint \"GET *\"",
            ),
            (
                "endpoints:\n  \"GET *\":\n    pre: [a]\n    during: [a]\nadapters:\n  a: http://x/\n",
                "unknown key",
            ),
            (
                "endpoints:\n  \"GET *\":\n    pre: [nope]\nadapters:\n  a: http://x/\n",
                "\"nope\", which is not defined",
            ),
            (
                "endpoints: {}\nadapters:\n  a: https://x/\n",
                "only http://",
            ),
            ("endpoints: {}\nadapters:\n  a: http://x:99999/\n", "bad port"),
            ("- a\n", "must be a mapping"),
            ("endpoints: [\n", "not valid YAML"),
        ];
        for (text, needle) in cases {
            let err = AdaptersConfig::parse(text).unwrap_err().to_string();
            assert!(err.contains(needle), "{text:?}: {err}");
        }
    }
}
