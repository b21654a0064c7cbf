//! Target `proxy_route`: the request classification of the proxy and the powerstrip
//! adapter (`adapter::policy::route::classify`), input = the method, a space, then the
//! request target (path and optionally `?query`), as UTF-8.
//!
//! The route must be the one the daemon takes, restated here from moby's router and Go's
//! `net/http` (and checked against Engine 20.10): the path is percent-decoded once, whole,
//! before routing (a malformed escape is a 400); a path that is not clean (`//`, a `.` or
//! `..` segment) is redirected, not routed; an optional `/v<digits and dots>` prefix; then
//! `POST /containers/create`, and `POST /containers/{name:.*}/start` or `/restart`, where
//! the name is everything up to the last segment (so it may hold `/`, as legacy link names
//! do, but not a newline, which Go's `.` does not match). Properties:
//! - the route is that one, and nothing panics;
//! - only `POST` is ever acted on;
//! - the route of `/v1.41/…` (and other versions) is the route of `/…` when `/…` has no
//!   version of its own, and none when it has (the daemon routes one version only);
//! - a query string never changes the route;
//! - percent-decoding happens once: a started container whose name is written with every
//!   byte escaped is the same container, and one written escaped twice is the name with
//!   its escapes, not the name.

use adapter::policy::route::{classify, Route};

/// Checks the properties above for one input; panics when one fails.
pub fn check(data: &[u8]) {
    check_with(data, classify);
}

/// The check of `classify`, any classification given in its place.
fn check_with(data: &[u8], classify: fn(&str, &str) -> Route) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (method, target) = text.split_once(' ').unwrap_or((text, ""));
    let route = classify(method, target);
    assert_eq!(route, daemon_route(method, target), "{method} {target:?}");
    if method != "POST" {
        assert_eq!(route, Route::Other, "only POST is acted on");
    }
    for other in ["GET", "post", "PUT", "DELETE"] {
        assert_eq!(classify(other, target), Route::Other, "{other} {target:?}");
    }

    let (path, query) = match target.find(['?', '#']) {
        Some(i) => target.split_at(i),
        None => (target, ""),
    };
    if !query.is_empty() {
        assert_eq!(
            classify(method, path),
            route,
            "the query {query:?} changes the route"
        );
    }
    assert_eq!(
        classify(method, &format!("{path}?a=1&b=%2F")),
        classify(method, path)
    );

    if path.starts_with('/') {
        let versioned = decode(path)
            .and_then(|p| String::from_utf8(p).ok())
            .is_some_and(|p| has_version(&p));
        for version in ["/v1.41", "/v1.50", "/v1", "/v1.24.0", "/v%31.41"] {
            let prefixed = format!("{version}{target}");
            let want = if versioned {
                Route::Other
            } else {
                route.clone()
            };
            assert_eq!(classify(method, &prefixed), want, "{prefixed:?}");
        }
    }

    if let Some(name) = route.started_container() {
        let action = match route {
            Route::Restart(_) => "restart",
            _ => "start",
        };
        let once = escape_all(name.as_bytes());
        let again = classify(method, &format!("/containers/{once}/{action}"));
        assert_eq!(
            again.started_container(),
            Some(name),
            "escaped once: {once}"
        );
        let twice = escape_all(once.as_bytes());
        let again = classify(method, &format!("/v1.41/containers/{twice}/{action}"));
        assert_eq!(
            again.started_container(),
            Some(once.as_str()),
            "escaped twice: {twice}"
        );
    }
}

/// The route the daemon takes for `method` and `target`.
fn daemon_route(method: &str, target: &str) -> Route {
    if method != "POST" {
        return Route::Other;
    }
    let raw = target.split(['?', '#']).next().unwrap_or("");
    let Some(path) = decode(raw).and_then(|p| String::from_utf8(p).ok()) else {
        return Route::Other;
    };
    if !is_clean(&path) {
        return Route::Other;
    }
    let path = without_version(&path);
    if path == "/containers/create" {
        return Route::Create;
    }
    let Some(rest) = path.strip_prefix("/containers/") else {
        return Route::Other;
    };
    let named = |suffix: &str| {
        rest.strip_suffix(suffix)
            .filter(|name| !name.is_empty() && !name.contains('\n'))
            .map(str::to_string)
    };
    if let Some(name) = named("/start") {
        Route::Start(name)
    } else if let Some(name) = named("/restart") {
        Route::Restart(name)
    } else {
        Route::Other
    }
}

/// Go's percent-decoding of a path: `%` and two hex digits is one byte, anything else
/// after a `%` is an error.
fn decode(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            if !hex.bytes().all(|c| c.is_ascii_hexdigit()) {
                return None;
            }
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Some(out)
}

/// gorilla/mux's clean path: absolute, no empty segment but a last one, no `.` or `..`.
fn is_clean(path: &str) -> bool {
    let Some(rest) = path.strip_prefix('/') else {
        return false;
    };
    let segments: Vec<&str> = rest.split('/').collect();
    let last = segments.len() - 1;
    segments
        .iter()
        .enumerate()
        .all(|(i, s)| *s != "." && *s != ".." && (!s.is_empty() || i == last))
}

/// True when the first segment is `v` and one or more digits and dots.
fn has_version(path: &str) -> bool {
    let first = path.trim_start_matches('/').split('/').next().unwrap_or("");
    first
        .strip_prefix('v')
        .is_some_and(|v| !v.is_empty() && v.bytes().all(|c| c.is_ascii_digit() || c == b'.'))
        && path.starts_with("/v")
}

fn without_version(path: &str) -> &str {
    if !has_version(path) {
        return path;
    }
    let end = path[1..].find('/').map_or(path.len(), |i| i + 1);
    &path[end..]
}

/// Every byte as `%XX`.
fn escape_all(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("%{b:02X}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_made_inputs() {
        for input in [
            "POST /v1.41/containers/create?name=web-1",
            "POST /containers%2Fcreate",
            "POST /%761.41/containers/cre%61te",
            "POST /v1.41/containers/web%251/start",
            "POST /v1.41/containers/web/alias/start",
            "POST /v1.41/containers/web/restart?t=1",
            "POST /v1.41//containers/create",
            "POST /v1.41/containers/./create",
            "POST /v1.41/containers/create/",
            "POST /v1.41/containers/%zz/start",
            "POST /v1.41/v1.40/containers/create",
            "GET /v1.41/containers/json?all=1",
            "POST",
            "POST ",
            "POST *",
        ] {
            check(input.as_bytes());
        }
    }

    #[test]
    fn the_daemons_route() {
        assert_eq!(daemon_route("POST", "/containers%2Fcreate"), Route::Create);
        assert_eq!(
            daemon_route("POST", "/v1.41/containers/create/"),
            Route::Other
        );
        assert_eq!(
            daemon_route("POST", "/v1.41//containers/create"),
            Route::Other
        );
        assert_eq!(
            daemon_route("POST", "/v1.41/v1.40/containers/create"),
            Route::Other
        );
        assert_eq!(
            daemon_route("POST", "/containers/web/alias/start"),
            Route::Start("web/alias".into())
        );
        assert_eq!(
            daemon_route("POST", "/containers/web%251/start"),
            Route::Start("web%1".into())
        );
        assert_eq!(
            daemon_route("POST", "/containers/a%0Ab/start"),
            Route::Other
        );
    }

    #[test]
    #[should_panic(expected = "escaped twice")]
    fn the_check_can_fail() {
        // A classification that decodes the target before routing it, on top of its own
        // decoding.
        fn twice(method: &str, target: &str) -> Route {
            let decoded = decode(target).and_then(|d| String::from_utf8(d).ok());
            classify(method, decoded.as_deref().unwrap_or(target))
        }
        check_with(b"POST /v1.41/containers/web-1/start", twice);
    }
}
