//! Which Engine API requests the proxy acts on itself (pure: method and path in, route out).
//!
//! Docker serves every route both with and without a `/v<version>` prefix (moby
//! `api/server/router`: `/v{version:[0-9.]+}`), so the prefix is optional here too.

use hyper::Method;

/// What the proxy does in process with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route<'a> {
    /// `POST /containers/create`: the create rewrite (DESIGN §3).
    Create,
    /// `POST /containers/{id or name}/start`: attach after a 2xx, before answering (§5).
    Start(&'a str),
    /// `POST /containers/{id or name}/restart`: as start.
    Restart(&'a str),
    /// Everything else: passed through untouched.
    Other,
}

impl<'a> Route<'a> {
    /// The container named in the path of a start or restart, if any.
    pub fn started_container(&self) -> Option<&'a str> {
        match self {
            Route::Start(id) | Route::Restart(id) => Some(id),
            _ => None,
        }
    }
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

/// The route of a request from its method and path (no query string).
pub fn classify<'a>(method: &Method, path: &'a str) -> Route<'a> {
    if method != Method::POST {
        return Route::Other;
    }
    let path = strip_version(path);
    let Some(rest) = path.strip_prefix("/containers/") else {
        return Route::Other;
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest == "create" {
        return Route::Create;
    }
    match rest.split_once('/') {
        Some((id, "start")) if !id.is_empty() => Route::Start(id),
        Some((id, "restart")) if !id.is_empty() => Route::Restart(id),
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

    #[test]
    fn classifies_create_start_restart() {
        let post = Method::POST;
        assert_eq!(classify(&post, "/v1.41/containers/create"), Route::Create);
        assert_eq!(classify(&post, "/containers/create"), Route::Create);
        assert_eq!(
            classify(&post, "/v1.41/containers/web-1.a_b/start"),
            Route::Start("web-1.a_b")
        );
        assert_eq!(
            classify(&post, "/containers/abc/restart"),
            Route::Restart("abc")
        );
        assert_eq!(classify(&post, "/containers/abc/stop"), Route::Other);
        assert_eq!(classify(&post, "/containers/a/b/start"), Route::Other);
        assert_eq!(classify(&Method::GET, "/containers/create"), Route::Other);
        assert_eq!(classify(&post, "/images/create"), Route::Other);
        assert_eq!(Route::Start("x").started_container(), Some("x"));
        assert_eq!(Route::Create.started_container(), None);
    }
}
