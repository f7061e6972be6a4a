//! What every fake service shares (the fake Deepgram, the fake OpenAI, and the fake
//! `@connections` and Deepgram live socket to come): an axum router served on 127.0.0.1 until
//! the fake is dropped, and the lock on its recorded state that a panicking test cannot poison.

use std::net::SocketAddr;
use std::sync::{Mutex, MutexGuard};

use anyhow::Context;
use tokio::net::TcpStream;
use tokio::task::{JoinHandle, JoinSet};

/// An axum router (or a raw TCP handler) served on a local address; the server stops when this
/// is dropped.
pub struct FakeServer {
    /// Where it listens (the port chosen when asked for port 0).
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl FakeServer {
    /// Binds `addr` (port 0 = any free port) and serves `app` in the background; `name`
    /// labels the errors (`the fake Deepgram`).
    pub async fn start(addr: SocketAddr, name: &str, app: axum::Router) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding {name} to {addr}"))?;
        let addr = listener.local_addr()?;
        let name = name.to_owned();
        let task = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                tracing::error!(%error, "{name} stopped");
            }
        });
        Ok(Self { addr, task })
    }

    /// Binds `addr` (port 0 = any free port) and hands each accepted TCP connection to `serve`,
    /// in a task of its own, for fakes that speak something axum does not (the Deepgram live
    /// WebSocket with its refused upgrades). Dropping the server also ends every connection.
    pub async fn start_tcp<F, Fut>(addr: SocketAddr, name: &str, serve: F) -> anyhow::Result<Self>
    where
        F: Fn(TcpStream) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding {name} to {addr}"))?;
        let addr = listener.local_addr()?;
        let name = name.to_owned();
        let task = tokio::spawn(async move {
            // Owned here, so aborting this task aborts the connections too.
            let mut connections = JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => match accepted {
                        Ok((stream, _)) => {
                            connections.spawn(serve(stream));
                        }
                        Err(error) => tracing::warn!(%error, "{name}: accept failed"),
                    },
                    Some(_) = connections.join_next(), if !connections.is_empty() => {}
                }
            }
        });
        Ok(Self { addr, task })
    }

    /// `http://<addr>/<path>`.
    pub fn url(&self, path: &str) -> anyhow::Result<url::Url> {
        Ok(url::Url::parse(&format!("http://{}/{path}", self.addr))?)
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Locks a fake's recorded state; a test thread that panicked while holding the lock must not
/// hide the real failure behind a poisoned mutex.
pub fn lock<T>(state: &Mutex<T>) -> MutexGuard<'_, T> {
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
