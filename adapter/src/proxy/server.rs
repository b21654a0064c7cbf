//! The listening side: a unix socket (owner and mode copied from the Docker socket) or TCP
//! (TLS optional, required off loopback), HTTP/1.1 with keep-alive and upgrades.

use std::net::SocketAddr;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{anyhow, bail, Context};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, UnixListener};
use tokio_rustls::TlsAcceptor;

use super::service::{handle, Shared};
use super::upstream::{socket_answers, Upstream};
use crate::accept::{self, Accept, Stream};
use crate::addr::Addr;
use crate::bounds;

/// A bound listener, ready to accept.
pub enum Listener {
    /// A unix socket; the file is removed when the listener is dropped.
    Unix(UnixListener, SocketFile),
    /// TCP, with TLS when an acceptor is set.
    Tcp(TcpListener, Option<TlsAcceptor>),
}

/// Removes the socket file on drop (clean shutdown).
pub struct SocketFile(PathBuf);

impl Drop for SocketFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

impl Listener {
    /// Binds `addr`. Unix: a stale socket file is replaced, a live one is an error; the new
    /// socket gets the owner, group and mode of `copy_from` (the Docker socket) when that is
    /// a socket file, so the same users may use it. TCP: a non-loopback address needs `tls`.
    pub async fn bind(
        addr: &Addr,
        tls: Option<TlsAcceptor>,
        copy_from: Option<&Path>,
    ) -> anyhow::Result<Listener> {
        match addr {
            Addr::Unix(path) => {
                if tls.is_some() {
                    bail!("--tlscert/--tlskey apply to a tcp:// listener, not {addr}");
                }
                bind_unix(path, copy_from)
            }
            Addr::Tcp { host, port } => {
                let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), *port))
                    .await
                    .with_context(|| format!("--listen {addr}: cannot resolve {host:?}"))?
                    .collect();
                let first = *addrs
                    .first()
                    .ok_or_else(|| anyhow!("--listen {addr}: {host:?} has no address"))?;
                if tls.is_none() && !addrs.iter().all(|a| a.ip().is_loopback()) {
                    bail!(
                        "--listen {addr}: a non-loopback TCP listener gives root on this host to \
                         anyone who can reach it; add --tlscert, --tlskey and --tlscacert, or \
                         listen on 127.0.0.1"
                    );
                }
                let l = TcpListener::bind(first)
                    .await
                    .with_context(|| format!("--listen {addr}: cannot bind"))?;
                Ok(Listener::Tcp(l, tls))
            }
        }
    }

    /// The bound TCP address (useful with port 0), if TCP.
    pub fn local_tcp(&self) -> Option<SocketAddr> {
        match self {
            Listener::Tcp(l, _) => l.local_addr().ok(),
            Listener::Unix(..) => None,
        }
    }

    /// Accepts and serves connections until `shutdown` completes; each connection gets its
    /// own kept-alive daemon connection.
    pub async fn serve(
        self,
        shared: Arc<Shared>,
        docker: Addr,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> anyhow::Result<()> {
        let tls = match &self {
            Listener::Tcp(_, tls) => tls.clone(),
            Listener::Unix(..) => None,
        };
        let serve_one =
            |stream| serve_connection(stream, tls.clone(), shared.clone(), docker.clone());
        accept::serve_each(&self, serve_one, shutdown).await;
        Ok(())
    }
}

impl Accept for Listener {
    async fn accept(&self) -> std::io::Result<Box<dyn Stream>> {
        match self {
            Listener::Unix(l, _) => Accept::accept(l).await,
            Listener::Tcp(l, _) => Accept::accept(l).await,
        }
    }
}

/// One client connection: the TLS handshake (bounded, so a silent peer does not hold a
/// task), then HTTP/1.1 with keep-alive and upgrades; a request head must arrive whole
/// within [`bounds::Bounds::header`] of the connection's start or of the previous answer
/// (so an idle kept-alive connection is closed after that long).
async fn serve_connection(
    stream: Box<dyn Stream>,
    tls: Option<TlsAcceptor>,
    shared: Arc<Shared>,
    docker: Addr,
) {
    let stream: Box<dyn Stream> = match tls {
        None => stream,
        Some(acceptor) => {
            let bound = bounds::get().tls;
            match tokio::time::timeout(bound, acceptor.accept(stream)).await {
                Ok(Ok(s)) => Box::new(s),
                Ok(Err(e)) => return tracing::info!("TLS handshake failed: {e}"),
                Err(_) => return tracing::info!("TLS handshake not done within {bound:?}: closed"),
            }
        }
    };
    let upstream = Arc::new(Upstream::new(docker));
    let service = service_fn(move |req| handle(shared.clone(), upstream.clone(), req));
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(bounds::get().header)
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    if let Err(e) = conn.await {
        tracing::debug!("client connection ended: {e}");
    }
}

fn bind_unix(path: &Path, copy_from: Option<&Path>) -> anyhow::Result<Listener> {
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if !meta.file_type().is_socket() {
            bail!(
                "--listen unix://{}: the path exists and is not a socket; remove it or choose another path",
                path.display()
            );
        }
        if socket_answers(path) {
            bail!(
                "--listen unix://{}: another process is already serving this socket",
                path.display()
            );
        }
        std::fs::remove_file(path)
            .with_context(|| format!("cannot remove the stale socket {}", path.display()))?;
    }
    let listener = UnixListener::bind(path)
        .with_context(|| format!("--listen unix://{}: cannot bind", path.display()))?;
    let guard = SocketFile(path.to_path_buf());
    if let Some(model) = copy_from {
        if let Ok(meta) = std::fs::metadata(model) {
            if meta.file_type().is_socket() {
                std::os::unix::fs::chown(path, Some(meta.uid()), Some(meta.gid())).with_context(
                    || {
                        format!(
                            "cannot give {} the owner of {}",
                            path.display(),
                            model.display()
                        )
                    },
                )?;
                std::fs::set_permissions(
                    path,
                    std::fs::Permissions::from_mode(meta.permissions().mode() & 0o7777),
                )
                .with_context(|| format!("cannot set the mode of {}", path.display()))?;
            }
        }
    }
    Ok(Listener::Unix(listener, guard))
}
