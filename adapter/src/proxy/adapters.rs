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

use serde_yaml_ng::Value;

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
    /// Host name or address to connect to.
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
        let rest = url.strip_prefix("http://").ok_or_else(|| {
            ConfigError(format!(
                "adapter URL {url:?}: only http://host[:port]/path URLs are supported"
            ))
        })?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if authority.is_empty() || authority.contains('@') {
            return Err(ConfigError(format!(
                "adapter URL {url:?}: expected http://host[:port]/path"
            )));
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => {
                let port = p
                    .parse::<u16>()
                    .map_err(|_| ConfigError(format!("adapter URL {url:?}: bad port {p:?}")))?;
                (h, port)
            }
            _ => (authority, 80),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        Ok(AdapterUrl {
            url: url.to_string(),
            host: host.to_string(),
            port,
            authority: authority.to_string(),
            path: path.to_string(),
        })
    }
}

impl fmt::Display for AdapterUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url)
    }
}

/// One adapter as referenced by a hook: its name in the file and its URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adapter {
    /// The name under `adapters:`.
    pub name: String,
    /// Where to post the envelopes.
    pub url: AdapterUrl,
}

/// One `endpoints:` entry.
#[derive(Debug, Clone)]
struct Endpoint {
    pattern: Pattern,
    pre: Vec<Adapter>,
    post: Vec<Adapter>,
}

/// The hooks of one request, in the order they run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hooks {
    /// Pre-hooks: each sees the body the previous one returned.
    pub pre: Vec<Adapter>,
    /// Post-hooks: each sees the response body the previous one returned.
    pub post: Vec<Adapter>,
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

impl AdaptersConfig {
    /// Parses the YAML text of an `adapters.yml`; errors name the key at fault.
    pub fn parse(text: &str) -> Result<AdaptersConfig, ConfigError> {
        let doc: Value = serde_yaml_ng::from_str(text)
            .map_err(|e| ConfigError(format!("not valid YAML: {e}")))?;
        let top = doc
            .as_mapping()
            .ok_or_else(|| ConfigError("the document must be a mapping".into()))?;
        let endpoints = top
            .get("endpoints")
            .ok_or_else(|| ConfigError("required key 'endpoints' is missing".into()))?;
        let adapters = top
            .get("adapters")
            .ok_or_else(|| ConfigError("required key 'adapters' is missing".into()))?;
        let adapters = adapters
            .as_mapping()
            .ok_or_else(|| ConfigError("'adapters' must map names to URLs".into()))?;
        let mut known = Vec::new();
        for (name, url) in adapters {
            let name = scalar(name)
                .ok_or_else(|| ConfigError(format!("adapter name {name:?} must be a string")))?;
            let url = url.as_str().ok_or_else(|| {
                ConfigError(format!("adapter {name:?}: the URL must be a string"))
            })?;
            known.push(Adapter {
                name: name.clone(),
                url: AdapterUrl::parse(url)?,
            });
        }
        let lookup = |name: &str, endpoint: &str| {
            known.iter().find(|a| a.name == name).cloned().ok_or_else(|| {
                ConfigError(format!(
                    "endpoint {endpoint:?} uses adapter {name:?}, which is not defined under 'adapters'"
                ))
            })
        };
        let mut parsed = Vec::new();
        let endpoints = match endpoints {
            Value::Null => return Ok(AdaptersConfig::default()),
            Value::Mapping(m) => m,
            _ => return Err(ConfigError("'endpoints' must be a mapping".into())),
        };
        for (key, conf) in endpoints {
            let key = scalar(key)
                .ok_or_else(|| ConfigError(format!("endpoint key {key:?} must be a string")))?;
            let conf = match conf {
                Value::Mapping(m) if !m.is_empty() => m,
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
            };
            let mut pre = Vec::new();
            let mut post = Vec::new();
            for (hook, names) in conf {
                let list = match hook.as_str() {
                    Some("pre") => &mut pre,
                    Some("post") => &mut post,
                    _ => {
                        return Err(ConfigError(format!(
                            "unknown key {hook:?} in endpoint {key:?} (only pre and post)"
                        )))
                    }
                };
                let names = match names {
                    Value::Sequence(s) => s.clone(),
                    Value::Null => Vec::new(),
                    _ => {
                        return Err(ConfigError(format!(
                            "endpoint {key:?}: {hook:?} must be a list of adapter names"
                        )))
                    }
                };
                for name in &names {
                    let name = scalar(name).ok_or_else(|| {
                        ConfigError(format!("endpoint {key:?}: adapter names must be strings"))
                    })?;
                    list.push(lookup(&name, &key)?);
                }
            }
            parsed.push(Endpoint {
                pattern: Pattern::new(&key),
                pre,
                post,
            });
        }
        Ok(AdaptersConfig { endpoints: parsed })
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

/// A YAML scalar as the string Python would use as a dict key (`1` → `"1"`).
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "True" } else { "False" }.to_string()),
        _ => None,
    }
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

    fn names(list: &[Adapter]) -> Vec<&str> {
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
