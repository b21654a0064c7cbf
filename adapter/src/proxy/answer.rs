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
/// a missing image (the CLI then pulls it and retries the create), 502 when the daemon
/// could not tell us about the image.
pub fn refused(r: &Refusal) -> Response<ProxyBody> {
    let status = match r.kind {
        RefusalKind::InvalidCidr
        | RefusalKind::NeedsAllocation
        | RefusalKind::NoCommand
        | RefusalKind::AmbiguousField => StatusCode::BAD_REQUEST,
        RefusalKind::NoSuchImage => StatusCode::NOT_FOUND,
        RefusalKind::ImageUnreadable => StatusCode::BAD_GATEWAY,
    };
    error_response(status, &r.message)
}

#[cfg(test)]
mod tests {
    use super::*;
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
    }
}
