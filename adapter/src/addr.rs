//! Endpoint addresses in Docker's `-H` spelling (pure parsing): `unix:///path` and
//! `tcp://host:port`, for the proxy's listener and for the Docker daemon every subcommand
//! talks to.

use std::fmt;
use std::path::PathBuf;

/// Docker's standard socket, used when neither `--docker` nor `DOCKER_HOST` says otherwise.
pub const DEFAULT_DOCKER: &str = "unix:///var/run/docker.sock";

/// Where the proxy listens by default.
pub const DEFAULT_LISTEN: &str = "unix:///run/powerstrip-weave.sock";

/// An endpoint: a unix socket path or a TCP `host:port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Addr {
    /// `unix:///run/x.sock` → `/run/x.sock`.
    Unix(PathBuf),
    /// `tcp://127.0.0.1:2375` → host `127.0.0.1`, port 2375.
    Tcp {
        /// Name or address (IPv6 without brackets).
        host: String,
        /// TCP port.
        port: u16,
    },
}

/// A malformed address, with the text and the accepted forms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} {text:?}: {why} (expected unix:///path/to.sock or tcp://host:port)")]
pub struct AddrError {
    /// The flag or variable it came from (`--listen`, `--docker`, `DOCKER_HOST`).
    pub what: String,
    /// The text as given.
    pub text: String,
    /// What is wrong.
    pub why: String,
}

impl Addr {
    /// Parses `text`; `what` names its origin for the error message. A bare absolute path
    /// is taken as a unix socket; `tcp://host` without a port is refused (Docker's 2375 vs
    /// 2376 choice depends on TLS, so say it).
    pub fn parse(what: &str, text: &str) -> Result<Addr, AddrError> {
        let err = |why: &str| AddrError {
            what: what.to_string(),
            text: text.to_string(),
            why: why.to_string(),
        };
        if let Some(path) = text.strip_prefix("unix://") {
            if !path.starts_with('/') {
                return Err(err("the socket path must be absolute"));
            }
            return Ok(Addr::Unix(PathBuf::from(path)));
        }
        if text.starts_with('/') {
            return Ok(Addr::Unix(PathBuf::from(text)));
        }
        let Some(rest) = text.strip_prefix("tcp://") else {
            return Err(err("unknown scheme"));
        };
        let rest = rest.trim_end_matches('/');
        let (host, port) = rest
            .rsplit_once(':')
            .ok_or_else(|| err("the port is missing"))?;
        let port: u16 = port.parse().map_err(|_| err("bad port"))?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            return Err(err("the host is missing"));
        }
        Ok(Addr::Tcp {
            host: host.to_string(),
            port,
        })
    }

    /// The Docker daemon to forward to: `--docker` if given, else `DOCKER_HOST` if set and
    /// not empty, else [`DEFAULT_DOCKER`].
    pub fn docker(flag: Option<&str>, docker_host_env: Option<&str>) -> Result<Addr, AddrError> {
        match (flag, docker_host_env) {
            (Some(f), _) => Addr::parse("--docker", f),
            (None, Some(e)) if !e.is_empty() => Addr::parse("DOCKER_HOST", e),
            _ => Addr::parse("default", DEFAULT_DOCKER),
        }
    }
}

/// Refuses a proxy whose daemon is its own listener, naming where the daemon address came
/// from: after `export DOCKER_HOST=<proxy socket>` the default `--docker` is the proxy
/// itself, and the fix is to unset DOCKER_HOST or pass `--docker`.
///
/// `docker_flag` is `--docker` as given, `docker_host_env` the DOCKER_HOST value.
pub fn refuse_self_loop(
    listen: &Addr,
    docker: &Addr,
    docker_flag: Option<&str>,
    docker_host_env: Option<&str>,
) -> Result<(), String> {
    if listen != docker {
        return Ok(());
    }
    match (docker_flag, docker_host_env) {
        (None, Some(env)) if !env.is_empty() => Err(format!(
            "--docker defaults to DOCKER_HOST={env}, which is this proxy's --listen {listen}; \
             unset DOCKER_HOST or pass --docker {DEFAULT_DOCKER}"
        )),
        _ => Err(format!(
            "--listen {listen} is the Docker daemon itself (--docker {docker}); choose another address"
        )),
    }
}

impl fmt::Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Addr::Unix(p) => write!(f, "unix://{}", p.display()),
            Addr::Tcp { host, port } if host.contains(':') => write!(f, "tcp://[{host}]:{port}"),
            Addr::Tcp { host, port } => write!(f, "tcp://{host}:{port}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_docker_spellings() {
        assert_eq!(
            Addr::parse("--listen", DEFAULT_LISTEN).unwrap(),
            Addr::Unix("/run/powerstrip-weave.sock".into())
        );
        assert_eq!(
            Addr::parse("--docker", "/var/run/docker.sock").unwrap(),
            Addr::Unix("/var/run/docker.sock".into())
        );
        assert_eq!(
            Addr::parse("--listen", "tcp://127.0.0.1:2375").unwrap(),
            Addr::Tcp {
                host: "127.0.0.1".into(),
                port: 2375
            }
        );
        let v6 = Addr::parse("--listen", "tcp://[::1]:2376").unwrap();
        assert_eq!(
            v6,
            Addr::Tcp {
                host: "::1".into(),
                port: 2376
            }
        );
        assert_eq!(v6.to_string(), "tcp://[::1]:2376");
    }

    #[test]
    fn refuses_with_the_accepted_forms() {
        for bad in [
            "unix://rel.sock",
            "tcp://127.0.0.1",
            "tcp://:2375",
            "http://x:1",
            "x",
        ] {
            let e = Addr::parse("--listen", bad).unwrap_err().to_string();
            assert!(
                e.contains("expected unix:///path/to.sock or tcp://host:port"),
                "{e}"
            );
            assert!(e.contains(bad), "{e}");
        }
    }

    #[test]
    fn a_self_loop_names_its_cause() {
        let sock = Addr::Unix("/tmp/p.sock".into());
        let docker = Addr::docker(None, Some("unix:///tmp/p.sock")).unwrap();
        let e = refuse_self_loop(&sock, &docker, None, Some("unix:///tmp/p.sock")).unwrap_err();
        assert!(
            e.contains("DOCKER_HOST=unix:///tmp/p.sock")
                && e.contains("unset DOCKER_HOST or pass --docker unix:///var/run/docker.sock"),
            "{e}"
        );
        let e = refuse_self_loop(&sock, &sock, Some("/tmp/p.sock"), None).unwrap_err();
        assert!(e.contains("is the Docker daemon itself"), "{e}");
        let other = Addr::Unix("/var/run/docker.sock".into());
        assert!(refuse_self_loop(&sock, &other, None, Some("unix:///tmp/p.sock")).is_ok());
    }

    #[test]
    fn docker_endpoint_precedence() {
        assert_eq!(
            Addr::docker(Some("unix:///a"), Some("unix:///b")).unwrap(),
            Addr::Unix("/a".into())
        );
        assert_eq!(
            Addr::docker(None, Some("unix:///b")).unwrap(),
            Addr::Unix("/b".into())
        );
        assert_eq!(
            Addr::docker(None, Some("")).unwrap(),
            Addr::Unix("/var/run/docker.sock".into())
        );
        let e = Addr::docker(None, Some("ssh://x")).unwrap_err().to_string();
        assert!(e.starts_with("DOCKER_HOST"), "{e}");
    }
}
