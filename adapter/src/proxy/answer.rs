//! The proxy's own answers, in Docker's shape so the docker CLI prints them as it prints
//! the daemon's: `{"message": "..."}` with a status the CLI acts on.

use http_body_util::{BodyExt, Full};
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE};
use hyper::{Response, StatusCode};

use super::upstream::ProxyBody;
use crate::policy::create::{Refusal, RefusalKind};

/// A body the proxy built.
pub fn full(bytes: impl Into<bytes::Bytes>) -> ProxyBody {
    Full::new(bytes.into()).map_err(|e| match e {}).boxed()
}

/// An answer in Docker's error shape, `{"message": "..."}`, which the docker CLI prints as
/// `Error response from daemon: <message>`.
pub fn error_response(status: StatusCode, message: &str) -> Response<ProxyBody> {
    let mut text = serde_json::to_vec(&serde_json::json!({ "message": message }))
        .expect("a Value always serialises");
    text.push(b'\n');
    Response::builder()
        .status(status)
        .header(CONTENT_TYPE, "application/json")
        .header(CONTENT_LENGTH, text.len())
        .body(full(text))
        .expect("a valid response")
}

/// A refused create as Docker would answer it: 400 for what the user must change, 404 for
/// a missing image (the CLI then pulls it and retries the create), 409 for an address
/// another container holds, 502 when the daemon could not tell us about the image or the
/// backend's network (never a 404 for a network: the CLI would take it for a missing image
/// and pull).
pub fn refused(r: &Refusal) -> Response<ProxyBody> {
    let status = match r.kind {
        RefusalKind::InvalidCidr
        | RefusalKind::NeedsAllocation
        | RefusalKind::NoCommand
        | RefusalKind::DoesNotFitNetwork
        | RefusalKind::AmbiguousField => StatusCode::BAD_REQUEST,
        RefusalKind::NoSuchImage => StatusCode::NOT_FOUND,
        RefusalKind::ImageUnreadable | RefusalKind::NetworkUnreadable => StatusCode::BAD_GATEWAY,
        // Docker's status for a name already in use: the request is fine, the state is not.
        RefusalKind::AddressHeld => StatusCode::CONFLICT,
    };
    error_response(status, &r.message)
}

/// Docker's create answer `body` (`{"Id": "…", "Warnings": [...] or null}`) with `warning`
/// appended to its `Warnings`, which the docker CLI prints as `WARNING: <warning>`; every
/// other field is kept. `None` when `body` is not such an object (an error answer): it is
/// then sent as Docker wrote it.
pub fn with_warning(body: &[u8], warning: &str) -> Option<Vec<u8>> {
    let mut answer: serde_json::Value = serde_json::from_slice(body).ok()?;
    let obj = answer.as_object_mut().filter(|o| o.contains_key("Id"))?;
    let warnings = obj.entry("Warnings").or_insert(serde_json::Value::Null);
    if warnings.is_null() {
        *warnings = serde_json::Value::Array(Vec::new());
    }
    warnings
        .as_array_mut()?
        .push(serde_json::Value::String(warning.to_string()));
    let mut text = serde_json::to_vec(&answer).ok()?;
    text.push(b'\n');
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_warning_is_added_to_dockers_create_answer() {
        let id = "6f0136716946e268d51eae11978ec5e42183fc6ed80aeb480e4afc2fcc223419";
        for (docker, want) in [
            (format!(r#"{{"Id":"{id}","Warnings":[]}}"#), vec!["w"]),
            (format!(r#"{{"Id":"{id}","Warnings":null}}"#), vec!["w"]),
            (format!(r#"{{"Id":"{id}"}}"#), vec!["w"]),
            (
                format!(r#"{{"Id":"{id}","Warnings":["kernel"]}}"#),
                vec!["kernel", "w"],
            ),
        ] {
            let out = with_warning(docker.as_bytes(), "w").unwrap();
            assert!(out.ends_with(b"}\n"));
            let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
            assert_eq!(v["Id"], id);
            assert_eq!(v["Warnings"], serde_json::json!(want), "{docker}");
        }
        // Field order and unknown fields survive.
        let out = with_warning(br#"{"Id":"x","Warnings":null,"Extra":1.50}"#, "w").unwrap();
        assert_eq!(out, b"{\"Id\":\"x\",\"Warnings\":[\"w\"],\"Extra\":1.50}\n");
    }

    #[test]
    fn what_is_not_a_create_answer_is_left_alone() {
        for body in [
            &b"{\"message\":\"Conflict\"}"[..],
            b"not json",
            b"[]",
            br#"{"Id":"x","Warnings":"one"}"#,
        ] {
            assert_eq!(
                with_warning(body, "w"),
                None,
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }
    use crate::policy::create::Instead;

    #[tokio::test]
    async fn errors_have_dockers_shape() {
        let r = error_response(StatusCode::BAD_GATEWAY, "adapter \"x\" is down");
        assert_eq!(r.status(), StatusCode::BAD_GATEWAY);
        assert_eq!(r.headers()[CONTENT_TYPE], "application/json");
        let body = r.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], b"{\"message\":\"adapter \\\"x\\\" is down\"}\n");
    }

    #[test]
    fn a_missing_image_is_dockers_404_so_the_cli_pulls() {
        let refusal = |kind| Refusal {
            kind,
            message: "m".into(),
            instead: Instead::Original,
        };
        assert_eq!(
            refused(&refusal(RefusalKind::NoSuchImage)).status(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            refused(&refusal(RefusalKind::InvalidCidr)).status(),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            refused(&refusal(RefusalKind::ImageUnreadable)).status(),
            StatusCode::BAD_GATEWAY
        );
        assert_eq!(
            refused(&refusal(RefusalKind::DoesNotFitNetwork)).status(),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            refused(&refusal(RefusalKind::NetworkUnreadable)).status(),
            StatusCode::BAD_GATEWAY
        );
        assert_eq!(
            refused(&refusal(RefusalKind::AddressHeld)).status(),
            StatusCode::CONFLICT
        );
    }
}
