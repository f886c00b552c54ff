//! A real server on 127.0.0.1:0: it answers over TCP and shuts down gracefully when told to.

use std::time::Duration;

use rehearse::{app::AppState, config::Settings};
use tokio::{io::AsyncReadExt, io::AsyncWriteExt, net::TcpStream};

#[tokio::test]
async fn a_real_server_answers_and_shuts_down_gracefully() {
    let dir = tempfile::tempdir().unwrap();
    let state = AppState::open(Settings::for_data_dir(dir.path()))
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(rehearse::app::serve(listener, state, async {
        stop_rx.await.ok();
    }));

    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).await.unwrap();
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(reply.contains("\"status\":\"ok\""), "{reply}");

    stop_tx.send(()).unwrap();
    let result = tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("server stops within 5 s");
    result.unwrap().unwrap();
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "the port is closed after shutdown"
    );
}

#[tokio::test]
async fn https_serves_with_a_self_signed_certificate_and_secure_cookies() {
    use std::sync::Arc;

    use rustls::pki_types::{CertificateDer, ServerName, pem::PemObject};

    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::for_data_dir(dir.path());
    let files = rehearse::tls::TlsFiles::self_signed_in(dir.path());
    settings.tls = Some(files.clone());
    let config = rehearse::tls::server_config(&files, &[]).unwrap();
    let state = AppState::open(settings).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(rehearse::app::serve_tls(listener, state, config, async {
        stop_rx.await.ok();
    }));

    // A client that trusts exactly the generated certificate.
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(&files.cert).unwrap())
        .unwrap();
    let client = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client));
    let tcp = TcpStream::connect(addr).await.unwrap();
    let mut tls = connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    tls.write_all(b"GET /interview-prep HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut reply = Vec::new();
    tls.read_to_end(&mut reply).await.ok();
    let reply = String::from_utf8_lossy(&reply);
    assert!(
        reply.starts_with("HTTP/1.1 200"),
        "{}",
        &reply[..reply.len().min(300)]
    );
    let cookie = reply
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .expect("a CSRF cookie");
    assert!(cookie.ends_with("; Secure"), "{cookie}");

    stop_tx.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(15), server)
        .await
        .expect("stops")
        .unwrap()
        .unwrap();
}

/// A server whose connections are bounded tightly enough to test: 2 s for headers, 8 connections per address.
async fn bounded_server() -> (
    std::net::SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    tempfile::TempDir,
) {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::for_data_dir(dir.path());
    settings.header_timeout = Duration::from_secs(2);
    settings.connections_per_address = 8;
    let state = AppState::open(settings).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(rehearse::app::serve(listener, state, async {
        stop_rx.await.ok();
    }));
    (addr, stop_tx, dir)
}

/// Reads until the server closes the connection; how long that took, or None if it stayed open for `within`.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> Option<Duration> {
    let started = std::time::Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(
            within.saturating_sub(started.elapsed()),
            stream.read(&mut buf),
        )
        .await
        {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(started.elapsed()),
            Ok(Ok(_)) => {}
        }
    }
}

#[tokio::test]
async fn silent_slow_and_idle_connections_are_closed_after_the_header_deadline() {
    // Issue 19, defect 2: 300 slow-header, 50 silent and 50 half-request-line connections were all still open after
    // two minutes, and one host could hold every socket.
    let (addr, _stop, _dir) = bounded_server().await;
    let mut silent = TcpStream::connect(addr).await.unwrap();
    let mut half_line = TcpStream::connect(addr).await.unwrap();
    half_line.write_all(b"GE").await.unwrap();
    let mut slow_headers = TcpStream::connect(addr).await.unwrap();
    slow_headers
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut idle = TcpStream::connect(addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = idle.read(&mut buf).await.unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
    for (name, stream) in [
        ("silent", &mut silent),
        ("half request line", &mut half_line),
        ("slow headers", &mut slow_headers),
        ("idle keep-alive", &mut idle),
    ] {
        let closed = closed_within(stream, Duration::from_secs(10)).await;
        assert!(
            closed.is_some(),
            "the {name} connection is still open after 10 s"
        );
    }
}

#[tokio::test]
async fn one_address_cannot_hold_every_connection() {
    let (addr, _stop, _dir) = bounded_server().await;
    let mut held = Vec::new();
    for _ in 0..8 {
        held.push(TcpStream::connect(addr).await.unwrap());
    }
    // The ninth from the same address is closed at once, without waiting for the header deadline.
    let mut ninth = TcpStream::connect(addr).await.unwrap();
    let closed = closed_within(&mut ninth, Duration::from_secs(1)).await;
    assert!(
        closed.is_some(),
        "a ninth connection from one address was kept"
    );

    // Another address (all of 127/8 is loopback on Linux) is still served, and the refusal is counted.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.2:0".parse().unwrap()).unwrap();
    let mut other = socket.connect(addr).await.unwrap();
    other
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut reply = String::new();
    other.read_to_string(&mut reply).await.unwrap();
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(
        reply.contains("rehearse_connections_refused_total{limit=\"per_address\"} 1"),
        "{reply}"
    );
    // A freed slot is given back.
    drop(held.pop());
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut again = TcpStream::connect(addr).await.unwrap();
    again
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut reply = String::new();
    again.read_to_string(&mut reply).await.unwrap();
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
}
