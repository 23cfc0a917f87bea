//! A single redis-server of the caller's own on a free loopback port, its files in a temporary
//! directory it owns: started, stopped, restarted with the same data, connected to.

use std::net::TcpListener;
use std::path::Path;

use anyhow::Context;
use backend::store::embedded::{EmbeddedRedis, Persistence};
use redis::aio::MultiplexedConnection;
use tempfile::TempDir;

pub struct RedisServer {
    server: Option<EmbeddedRedis>,
    port: u16,
    persistence: Persistence,
    dir: TempDir,
}

impl RedisServer {
    /// Starts a server with its files in a fresh temporary directory.
    pub async fn start(persistence: Persistence) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let server = EmbeddedRedis::start(dir.path(), persistence)
            .await
            .context("redis-server starts (is it installed? `cargo xtask install`)")?;
        Ok(Self {
            port: server.port(),
            server: Some(server),
            persistence,
            dir,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:<port>`, whether it runs or not.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Where its files are.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// A connection that waits for a reply as long as it takes (reading tens of thousands of
    /// entries in a debug build takes a while).
    pub async fn connect(&self) -> MultiplexedConnection {
        redis::Client::open(self.url())
            .expect("a valid redis URL")
            .get_multiplexed_async_connection_with_config(
                &redis::AsyncConnectionConfig::new().set_response_timeout(None),
            )
            .await
            .expect("the test's redis-server answers")
    }

    /// Stops the server (SHUTDOWN), keeping its files.
    pub async fn stop(&mut self) -> anyhow::Result<()> {
        self.server
            .take()
            .context("redis is not running")?
            .stop()
            .await
    }

    /// Brings the server back on the same port with the same files.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        let server = EmbeddedRedis::start_on(self.dir.path(), self.port, self.persistence).await?;
        self.server = Some(server);
        Ok(())
    }
}

/// A loopback port free at the time of asking.
pub fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("no free loopback port")?;
    Ok(listener.local_addr()?.port())
}
