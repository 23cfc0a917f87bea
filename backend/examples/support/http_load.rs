//! A load client as light as `wrk`: one keep-alive HTTP/1.1 connection per task, sending the
//! same request's bytes (built once) again and again and reading each answer up to its
//! `Content-Length`. On a 2-core machine every cycle the client spends is one the server under
//! test does not get, so the client does as little as it can; both stacks meet the same one.

use std::time::Duration;

use anyhow::{Context, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One connection and its read buffer.
pub struct Connection {
    stream: TcpStream,
    buf: Vec<u8>,
}

/// One answer: its status and its size on the wire.
pub struct Answer {
    pub status: u16,
    /// Status line, headers and body.
    pub bytes: usize,
    pub body_bytes: usize,
}

/// `POST path` with a JSON `body`, as bytes to send as they are.
pub fn post_json(port: u16, path: &str, body: &str) -> Vec<u8> {
    format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

impl Connection {
    pub async fn open(port: u16, timeout: Duration) -> anyhow::Result<Self> {
        let stream = tokio::time::timeout(timeout, TcpStream::connect(("127.0.0.1", port)))
            .await
            .context("connecting timed out")??;
        stream.set_nodelay(true)?;
        Ok(Self {
            stream,
            buf: Vec::with_capacity(16 * 1024),
        })
    }

    /// Sends `request` and reads its answer.
    pub async fn send(&mut self, request: &[u8], timeout: Duration) -> anyhow::Result<Answer> {
        tokio::time::timeout(timeout, self.exchange(request))
            .await
            .context("no answer within the time-out")?
    }

    async fn exchange(&mut self, request: &[u8]) -> anyhow::Result<Answer> {
        self.stream.write_all(request).await?;
        self.buf.clear();
        let head_end = loop {
            if let Some(at) = find(&self.buf, b"\r\n\r\n") {
                break at + 4;
            }
            self.read_more().await?;
        };
        let head = std::str::from_utf8(&self.buf[..head_end]).context("a head not in UTF-8")?;
        let status = head
            .get(9..12)
            .and_then(|s| s.parse().ok())
            .context("no status in the answer's first line")?;
        let Some(body_bytes) = head.lines().find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())?
        }) else {
            bail!("an answer without Content-Length (chunked answers are not read here)");
        };
        let bytes = head_end + body_bytes;
        while self.buf.len() < bytes {
            self.read_more().await?;
        }
        Ok(Answer {
            status,
            bytes,
            body_bytes,
        })
    }

    async fn read_more(&mut self) -> anyhow::Result<()> {
        if self.buf.capacity() - self.buf.len() < 4096 {
            self.buf.reserve(16 * 1024);
        }
        if self.stream.read_buf(&mut self.buf).await? == 0 {
            bail!("the server closed the connection");
        }
        Ok(())
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
