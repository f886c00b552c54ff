//! One blocking WebSocket to a provider's live API: `ws://` (a server on this machine, the tests' fakes) or
//! `wss://` (rustls with the web's root certificates, as the other remote backends use), with the key in a request
//! header, a connect timeout, and reads that give up at a deadline so a caller can check whether it should stop.
//! Messages are JSON text frames; a binary frame holding JSON (Gemini sends some) is read the same way.

use std::{
    io::{Read, Write},
    net::{TcpStream, ToSocketAddrs},
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use tungstenite::{Message, WebSocket, client::IntoClientRequest, http::HeaderValue};

/// The largest message read from a provider: a second of 24 kHz audio is 64 KB as base64.
const MAX_MESSAGE: usize = 8 << 20;
const CONNECT: Duration = Duration::from_secs(5);
/// How long one read waits before the caller gets to look at its own deadline and stop flag.
const POLL: Duration = Duration::from_millis(50);

/// A plain or TLS stream, as one type.
pub(super) trait Io: Read + Write + Send {
    fn tcp(&self) -> &TcpStream;
}

impl Io for TcpStream {
    fn tcp(&self) -> &TcpStream {
        self
    }
}

impl Io for rustls::StreamOwned<rustls::ClientConnection, TcpStream> {
    fn tcp(&self) -> &TcpStream {
        &self.sock
    }
}

pub(super) struct Socket {
    ws: WebSocket<Box<dyn Io>>,
    /// The host, for messages (never the URL: Gemini's may carry a key).
    host: String,
}

/// What a read gave.
pub(super) enum Got {
    Message(serde_json::Value),
    /// Nothing yet (the poll interval passed).
    Nothing,
}

impl Socket {
    /// Opens `url` (`ws://` or `wss://`) with `headers`.
    pub fn connect(url: &str, headers: &[(&'static str, String)]) -> anyhow::Result<Socket> {
        let (tls, rest) = if let Some(rest) = url.strip_prefix("wss://") {
            (true, rest)
        } else if let Some(rest) = url.strip_prefix("ws://") {
            (false, rest)
        } else {
            bail!("{url:?} is not a ws:// or wss:// URL");
        };
        let authority = rest.split(['/', '?']).next().unwrap_or_default();
        let host = authority
            .rsplit_once(':')
            .filter(|(_, port)| port.parse::<u16>().is_ok())
            .map_or(authority, |(h, _)| h)
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = authority
            .rsplit_once(':')
            .and_then(|(_, p)| p.parse::<u16>().ok())
            .unwrap_or(if tls { 443 } else { 80 });
        let addr = (host.as_str(), port)
            .to_socket_addrs()
            .with_context(|| format!("{host}: cannot resolve the live API's host"))?
            .next()
            .with_context(|| format!("{host}: no address"))?;
        let tcp = TcpStream::connect_timeout(&addr, CONNECT)
            .with_context(|| format!("{host}:{port}: cannot reach the live API"))?;
        tcp.set_nodelay(true)?;
        tcp.set_read_timeout(Some(CONNECT))?;
        tcp.set_write_timeout(Some(CONNECT))?;
        let stream: Box<dyn Io> = if tls {
            let name = rustls::pki_types::ServerName::try_from(host.clone())
                .with_context(|| format!("{host}: not a server name"))?;
            let connection = rustls::ClientConnection::new(tls_config(), name)?;
            Box::new(rustls::StreamOwned::new(connection, tcp))
        } else {
            Box::new(tcp)
        };
        let mut request = url.into_client_request()?;
        for (name, value) in headers {
            let mut value = HeaderValue::from_str(value).context("a header that cannot be sent")?;
            value.set_sensitive(true);
            request.headers_mut().insert(*name, value);
        }
        let config = tungstenite::protocol::WebSocketConfig::default()
            .max_message_size(Some(MAX_MESSAGE))
            .max_frame_size(Some(MAX_MESSAGE));
        let (ws, _) = tungstenite::client::client_with_config(request, stream, Some(config))
            .map_err(|e| match e {
                tungstenite::HandshakeError::Failure(tungstenite::Error::Http(r)) => {
                    let body = r
                        .body()
                        .as_deref()
                        .map(|b| String::from_utf8_lossy(&b[..b.len().min(300)]).into_owned())
                        .unwrap_or_default();
                    anyhow::anyhow!(
                        "{host}: the live API refused the connection with HTTP {}{}",
                        r.status().as_u16(),
                        if body.trim().is_empty() {
                            String::new()
                        } else {
                            format!(": {}", crate::llm::remote::server_message(&body))
                        }
                    )
                }
                other => anyhow::anyhow!("{host}: the live API's handshake failed: {other}"),
            })?;
        ws.get_ref().tcp().set_read_timeout(Some(POLL))?;
        Ok(Socket { ws, host })
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn send(&mut self, message: &serde_json::Value) -> anyhow::Result<()> {
        self.ws
            .send(Message::text(message.to_string()))
            .with_context(|| format!("{}: sending to the live API failed", self.host))
    }

    /// Waits up to the poll interval for a message. A closed socket or a message that is not JSON is an error.
    pub fn read(&mut self) -> anyhow::Result<Got> {
        match self.ws.read() {
            Ok(Message::Text(t)) => Ok(Got::Message(json(t.as_bytes(), &self.host)?)),
            Ok(Message::Binary(b)) => Ok(Got::Message(json(&b, &self.host)?)),
            Ok(Message::Close(frame)) => bail!(
                "{}: the live API closed the connection{}",
                self.host,
                frame
                    .map(|f| format!(" ({}: {})", u16::from(f.code), f.reason))
                    .unwrap_or_default()
            ),
            Ok(_) => Ok(Got::Nothing),
            Err(tungstenite::Error::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                Ok(Got::Nothing)
            }
            Err(e) => bail!("{}: the live API's connection failed: {e}", self.host),
        }
    }

    /// The next message before `deadline`.
    pub fn next_before(
        &mut self,
        deadline: Instant,
        what: &str,
    ) -> anyhow::Result<serde_json::Value> {
        loop {
            if let Got::Message(m) = self.read()? {
                return Ok(m);
            }
            if Instant::now() >= deadline {
                bail!(
                    "{}: the live API did not answer in time ({what})",
                    self.host
                );
            }
        }
    }

    pub fn close(mut self) {
        let _ = self.ws.close(None);
        let _ = self.ws.flush();
    }
}

fn json(bytes: &[u8], host: &str) -> anyhow::Result<serde_json::Value> {
    serde_json::from_slice(bytes)
        .with_context(|| format!("{host}: the live API sent a message that is not JSON"))
}

fn tls_config() -> Arc<rustls::ClientConfig> {
    static CONFIG: std::sync::OnceLock<Arc<rustls::ClientConfig>> = std::sync::OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let roots = rustls::RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            };
            Arc::new(
                rustls::ClientConfig::builder_with_provider(Arc::new(
                    rustls::crypto::ring::default_provider(),
                ))
                .with_safe_default_protocol_versions()
                .expect("ring supports the default TLS versions")
                .with_root_certificates(roots)
                .with_no_client_auth(),
            )
        })
        .clone()
}
