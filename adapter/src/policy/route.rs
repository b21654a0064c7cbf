//! Which Engine API requests are ours (pure: method and raw request target in, route out),
//! for the proxy and the powerstrip adapter alike, routed as the daemon routes them (moby
//! `api/server` on gorilla/mux, behind Go's `net/http`):
//! - the path is percent-decoded once, whole, before anything is matched, so
//!   `/containers%2Fcreate` is a create and `a%2Eb` names the container `a.b`, while
//!   `web%251` names `web%1`; a malformed escape is answered 400, so it is no route;
//! - a path that is not clean (`//`, a `.` or `..` segment) is redirected (301), not
//!   routed;
//! - every route is served with and without a `/v<version>` prefix
//!   (`/v{version:[0-9.]+}`), one prefix only;
//! - the container of a start or restart is `{name:.*}`: everything between `/containers/`
//!   and the last segment, a `/` included (legacy link names such as `web/db` resolve), a
//!   newline not (Go's `.` does not match it).

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
/// optionally `?query`: `/v1.41/containers/web-1/start?t=1`), as the module doc says.
pub fn classify(method: &str, target: &str) -> Route {
    if method != "POST" {
        return Route::Other;
    }
    let raw = target.split(['?', '#']).next().unwrap_or("");
    let Some(path) = decoded(raw) else {
        return Route::Other;
    };
    if !is_clean(&path) {
        return Route::Other;
    }
    let path = strip_version(&path);
    if path == "/containers/create" {
        return Route::Create;
    }
    let Some(rest) = path.strip_prefix("/containers/") else {
        return Route::Other;
    };
    let container = |action: &str| {
        rest.strip_suffix(action)
            .filter(|name| !name.is_empty() && !name.contains('\n'))
            .map(str::to_string)
    };
    if let Some(name) = container("/start") {
        Route::Start(name)
    } else if let Some(name) = container("/restart") {
        Route::Restart(name)
    } else {
        Route::Other
    }
}

/// `raw` percent-decoded once; `None` when a `%` is not followed by two hex digits (Go's
/// `net/http` answers 400) or the result is not UTF-8 (no container is named so).
fn decoded(raw: &str) -> Option<String> {
    let escapes_whole = raw.match_indices('%').all(|(i, _)| {
        raw.as_bytes()
            .get(i + 1..i + 3)
            .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit))
    });
    if !escapes_whole {
        return None;
    }
    percent_decode_str(raw)
        .decode_utf8()
        .ok()
        .map(|p| p.into_owned())
}

/// True when gorilla/mux routes `path` rather than redirecting it to its `path.Clean`
/// form: absolute, without `//` and without `.` or `..` segments.
fn is_clean(path: &str) -> bool {
    path.starts_with('/')
        && !path.contains("//")
        && path
            .split('/')
            .all(|segment| segment != "." && segment != "..")
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
            ("/v1.41/containers/start", None),
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
    fn the_path_is_decoded_once_then_routed_as_the_daemon_does() {
        // Each of these was sent to dockerd 20.10: 201 for the creates.
        for created in [
            "/v1.41/containers%2Fcreate",
            "/%761.41/containers/create",
            "/v1.41/containers/cre%61te?name=x",
        ] {
            assert_eq!(classify("POST", created), Route::Create, "{created}");
        }
        // 404, 301 and 301.
        for other in [
            "/v1.41/containers/create/",
            "/v1.41//containers/create",
            "/v1.41/containers/./create",
            "/v1.41/v1.40/containers/create",
            "/v1.41/containers/%zz/start",
            "/v1.41/containers/a%0Ab/start",
            "/v1.41/containers/web/start/",
        ] {
            assert_eq!(classify("POST", other), Route::Other, "{other}");
        }
        assert_eq!(
            classify("POST", "/v1.41/containers/web%251/start"),
            start("web%1")
        );
        assert_eq!(
            classify("POST", "/v1.41/containers/web%2Fdb/start"),
            start("web/db")
        );
        assert_eq!(
            classify("POST", "/containers/web/db/restart"),
            Route::Restart("web/db".into())
        );
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
