use std::net::SocketAddr;
use std::path::PathBuf;

/// The relay's settings: flags, each with an environment variable and a default, so nothing
/// is required to start.
#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "backend",
    about = "claimstream relay: claims on Redis Streams, over HTTP and WebSocket"
)]
pub struct Config {
    /// Address to serve HTTP and the WebSocket on.
    #[arg(long, env = "LISTEN_ADDR", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Redis to use. Without it the relay starts its own redis-server.
    #[arg(long, env = "REDIS_URL")]
    pub redis_url: Option<String>,

    /// Where the embedded Redis keeps its data (default: the user's data directory).
    #[arg(long, env = "CLAIMSTREAM_DATA_DIR")]
    pub data_dir: Option<PathBuf>,

    /// Live entries a WebSocket client may fall behind before it is told and resumed from
    /// the stream instead.
    #[arg(long, env = "WS_CLIENT_BUFFER", default_value_t = 4096)]
    pub ws_client_buffer: usize,

    /// Built browser app to serve at `/`, if the directory exists.
    #[arg(long, env = "STATIC_DIR", default_value = "dist")]
    pub static_dir: PathBuf,
}

impl Config {
    pub fn data_dir(&self) -> PathBuf {
        self.data_dir.clone().unwrap_or_else(|| {
            dirs::data_dir()
                .unwrap_or_else(std::env::temp_dir)
                .join("claimstream")
                .join("redis")
        })
    }
}
