//! Which Engine API requests are ours (pure: method and raw request target in, route out),
//! for the proxy and the powerstrip adapter alike.
//!
//! Docker serves every route both with and without a `/v<version>` prefix (moby
//! `api/server/router`: `/v{version:[0-9.]+}`), so the prefix is optional here too. The
//! container in a start or restart path is percent-decoded once, as the daemon's router
//! does, so `a%2Eb` names the container `a.b`.

use percent_encoding::percent_decode_str;

/// What a request is to the weave hooks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `POST /containers/create`: the create decision (docs/design.md §3).
    Create,
    /// `POST /containers/{id or name}/start`: attach after a 2xx (docs/design.md §5).
    Start(String),
    /// `POST /containers/{id or name}/restart`: as start.
    Restart(String),
    /// Everything else: none of our business.
    Other,
}

impl Route {
    /// The container named in the path of a start or restart, if any.
    pub fn started_container(&self) -> Option<&str> {
        match self {
            Route::Start(id) | Route::Restart(id) => Some(id),
            _ => None,
        }
    }
}

/// True when a start or restart Docker answered with `status` is to be attached: a 2xx,
/// except 304 (the container was already running, and attached then).
pub fn attach_after(status: u16) -> bool {
    (200..300).contains(&status) && status != 304
}

/// `path` without a leading `/v1.41`-style API version segment (digits and dots after `v`);
/// unchanged when there is none. `"/v1.41/containers/json"` → `"/containers/json"`.
pub fn strip_version(path: &str) -> &str {
    let Some(rest) = path.strip_prefix("/v") else {
        return path;
    };
    let end = rest.find('/').unwrap_or(rest.len());
    let version = &rest[..end];
    if !version.is_empty() && version.chars().all(|c| c.is_ascii_digit() || c == '.') {
        &rest[end..]
    } else {
        path
    }
}

/// The route of a request from its method (`POST`) and raw request target (path, then
/// optionally `?query`: `/v1.41/containers/web-1/start?t=1`).
pub fn classify(method: &str, target: &str) -> Route {
    if method != "POST" {
        return Route::Other;
    }
    let path = target.split(['?', '#']).next().unwrap_or("");
    let Some(rest) = strip_version(path).strip_prefix("/containers/") else {
        return Route::Other;
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest == "create" {
        return Route::Create;
    }
    let Some((raw, action)) = rest.split_once('/') else {
        return Route::Other;
    };
    let Ok(name) = percent_decode_str(raw).decode_utf8() else {
        return Route::Other;
    };
    match action {
        _ if name.is_empty() => Route::Other,
        "start" => Route::Start(name.into_owned()),
        "restart" => Route::Restart(name.into_owned()),
        _ => Route::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_prefix_is_optional() {
        assert_eq!(strip_version("/v1.41/containers/json"), "/containers/json");
        assert_eq!(strip_version("/v1/_ping"), "/_ping");
        assert_eq!(strip_version("/containers/json"), "/containers/json");
        assert_eq!(strip_version("/volumes"), "/volumes");
        assert_eq!(strip_version("/v1.41"), "");
        assert_eq!(strip_version("/vx/a"), "/vx/a");
    }

    fn start(name: &str) -> Route {
        Route::Start(name.to_string())
    }

    #[test]
    fn classifies_create_start_restart() {
        assert_eq!(classify("POST", "/v1.41/containers/create"), Route::Create);
        assert_eq!(classify("POST", "/containers/create"), Route::Create);
        assert_eq!(
            classify("POST", "/v1.41/containers/web-1.a_b/start"),
            start("web-1.a_b")
        );
        assert_eq!(
            classify("POST", "/containers/abc/restart"),
            Route::Restart("abc".into())
        );
        assert_eq!(classify("POST", "/containers/abc/stop"), Route::Other);
        assert_eq!(classify("POST", "/containers/a/b/start"), Route::Other);
        assert_eq!(classify("GET", "/containers/create"), Route::Other);
        assert_eq!(classify("POST", "/images/create"), Route::Other);
        assert_eq!(start("x").started_container(), Some("x"));
        assert_eq!(Route::Create.started_container(), None);
    }

    #[test]
    fn start_targets_accept_docker_names_and_versions() {
        for (req, want) in [
            ("/containers/web-1/start", Some("web-1")),
            ("/v1.41/containers/a.b_c-d/start?x=1", Some("a.b_c-d")),
            ("/v1.24/containers/a%2Eb/restart", Some("a.b")),
            (
                "/v1.41/containers/6f0136716946e268d51eae11978ec5e42183fc6ed80aeb480e4afc2fcc223419/restart?t=1",
                Some("6f0136716946e268d51eae11978ec5e42183fc6ed80aeb480e4afc2fcc223419"),
            ),
            ("/v1.41/containers/web/stop", None),
            ("/v1.41/containers/start", None),
            ("/v1.41/containers//start", None),
            ("/v1.41/containers/a/b/start", None),
            ("/vx/containers/a/start", None),
        ] {
            assert_eq!(
                classify("POST", req).started_container(),
                want,
                "{req}"
            );
        }
        assert_eq!(classify("GET", "/containers/web-1/start"), Route::Other);
    }

    #[test]
    fn only_successful_starts_are_attached() {
        for status in [200, 204] {
            assert!(attach_after(status), "{status}");
        }
        for status in [101, 304, 404, 409, 500] {
            assert!(!attach_after(status), "{status}");
        }
    }

    #[test]
    fn create_paths() {
        assert_eq!(classify("POST", "/containers/create"), Route::Create);
        assert_eq!(
            classify("POST", "/v1.41/containers/create?name=x"),
            Route::Create
        );
        assert_eq!(classify("GET", "/v1.41/containers/create"), Route::Other);
        assert_eq!(classify("POST", "/v1.41/containers/createx"), Route::Other);
        assert_eq!(classify("POST", "/v1.41/containers/x/create"), Route::Other);
    }
}
