//! Accepting connections, HTTP or HTTPS, with bounds that keep one client from holding the appliance's sockets:
//! a deadline for each request's headers that also closes idle keep-alive connections (and silent ones that never
//! send a byte), a deadline for the TLS handshake, a limit on connections from one address (generous enough for a
//! classroom behind one NAT, and never more than half of all) and one on all connections below the process's file limit, so `accept` never fails
//! for want of descriptors. Past a limit, a new connection is closed at once and counted on `/metrics`. Upgraded
//! connections (the interview's WebSocket) are bounded by their own protocol's idle rules. On shutdown each
//! connection finishes its requests in flight (10 s at most). Knows nothing of routes.

use std::{
    collections::HashMap,
    future::Future,
    net::{IpAddr, SocketAddr},
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::Router;
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    service::TowerToHyperService,
};
use tokio::{net::TcpListener, sync::watch};

/// What bounds the connections.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The longest a client may take to send a request's headers, counted from when the connection is ready for
    /// a request (just opened, or idle after a response); also the TLS handshake's deadline.
    pub header_timeout: Duration,
    /// Open connections from one IP address.
    pub per_address: usize,
    /// Open connections in all.
    pub total: usize,
}

/// Descriptors kept free for the database, models, the sandbox and logs.
const RESERVED_DESCRIPTORS: u64 = 128;

/// The most connections a process with `descriptors` file descriptors serves at once.
pub fn total_for(descriptors: u64) -> usize {
    descriptors
        .saturating_sub(RESERVED_DESCRIPTORS)
        .clamp(16, 60_000) as usize
}

/// Raises the process's soft limit on open files to its hard limit (a common soft limit of 1,024 is low for a
/// classroom) and returns the limit in force.
#[allow(unsafe_code)]
pub fn raise_descriptor_limit() -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct passed, which lives for the call.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 1024;
        }
        if lim.rlim_cur < lim.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: lim.rlim_max.min(1 << 20),
                rlim_max: lim.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                lim = raised;
            }
        }
    }
    lim.rlim_cur
}

/// Why a connection was refused, for metrics and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    PerAddress,
    Total,
}

/// Open connections by address: a slot is taken on accept and given back when its guard drops.
#[derive(Debug, Default)]
pub struct Slots {
    open: Mutex<(usize, HashMap<IpAddr, usize>)>,
}

/// Holds one connection's slot.
#[derive(Debug)]
pub struct Slot {
    slots: Arc<Slots>,
    ip: IpAddr,
}

impl Slots {
    pub fn take(self: &Arc<Self>, ip: IpAddr, limits: &Limits) -> Result<Slot, Refused> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if open.0 >= limits.total {
            return Err(Refused::Total);
        }
        // One address never holds more than half of all connections, however low the file limit.
        let per_address = limits.per_address.min((limits.total / 2).max(1));
        let of_ip = open.1.entry(ip).or_insert(0);
        if *of_ip >= per_address {
            return Err(Refused::PerAddress);
        }
        *of_ip += 1;
        open.0 += 1;
        Ok(Slot {
            slots: self.clone(),
            ip,
        })
    }

    /// Open connections in all.
    pub fn open(&self) -> usize {
        self.open.lock().unwrap_or_else(|e| e.into_inner()).0
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.slots.open.lock().unwrap_or_else(|e| e.into_inner());
        open.0 = open.0.saturating_sub(1);
        if let Some(n) = open.1.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.1.remove(&self.ip);
            }
        }
    }
}

/// Serves `router` until `shutdown` completes, then lets each connection finish its requests (10 s at most).
/// `refused` is told of each connection closed at a limit.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    tls: Option<Arc<rustls::ServerConfig>>,
    limits: Limits,
    refused: impl Fn(Refused) + Send + Sync + 'static,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let slots = Arc::new(Slots::default());
    let (stop_tx, stop_rx) = watch::channel(false);
    // Every connection task holds a sender; when all are dropped, every connection has finished.
    let (alive_tx, mut alive_rx) = tokio::sync::mpsc::channel::<()>(1);
    tokio::pin!(shutdown);
    loop {
        let (tcp, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!("accepting a connection failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let slot = match slots.take(remote.ip(), &limits) {
            Ok(slot) => slot,
            Err(why) => {
                tracing::debug!("closed a connection from {remote}: {why:?} limit reached");
                refused(why);
                continue;
            }
        };
        // Small frames (acknowledgements, streamed words) go out at once instead of waiting on Nagle's algorithm,
        // which with delayed ACKs added ~40 ms to every turn (measured by `rehearse bench load`).
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!("setting TCP_NODELAY failed: {e}");
        }
        let (acceptor, router, stop_rx, alive) = (
            acceptor.clone(),
            router.clone(),
            stop_rx.clone(),
            alive_tx.clone(),
        );
        tokio::spawn(async move {
            let _alive = alive;
            let _slot = slot;
            connection(tcp, remote, acceptor, router, limits, stop_rx).await;
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    drop(alive_tx);
    let _ = tokio::time::timeout(Duration::from_secs(10), alive_rx.recv()).await;
    Ok(())
}

async fn connection(
    tcp: tokio::net::TcpStream,
    remote: SocketAddr,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
    router: Router,
    limits: Limits,
    stop_rx: watch::Receiver<bool>,
) {
    use tower::ServiceExt;
    let service = TowerToHyperService::new(router.map_request(
        move |mut req: axum::extract::Request<hyper::body::Incoming>| {
            req.extensions_mut()
                .insert(axum::extract::ConnectInfo(remote));
            req
        },
    ));
    let Some(acceptor) = acceptor else {
        return http1(TokioIo::new(tcp), service, limits, stop_rx).await;
    };
    let Ok(Ok(stream)) = tokio::time::timeout(limits.header_timeout, acceptor.accept(tcp)).await
    else {
        return;
    };
    if stream.get_ref().1.alpn_protocol() == Some(b"h2") {
        http2(TokioIo::new(stream), service, stop_rx).await;
    } else {
        http1(TokioIo::new(stream), service, limits, stop_rx).await;
    }
}

async fn http1<I, S>(io: I, service: S, limits: Limits, mut stop_rx: watch::Receiver<bool>)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    S: hyper::service::HttpService<hyper::body::Incoming> + Send,
    S::Future: Send + 'static,
    S::ResBody: 'static + Send,
    <S::ResBody as hyper::body::Body>::Data: Send,
    <S::ResBody as hyper::body::Body>::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .serve_connection(io, service)
        .with_upgrades();
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => return,
        _ = stop_rx.wait_for(|stop| *stop) => conn.as_mut().graceful_shutdown(),
    }
    let _ = conn.await;
}

/// HTTP/2 multiplexes a page's requests on one connection; pings close one whose peer has gone.
async fn http2<I, S>(io: I, service: S, mut stop_rx: watch::Receiver<bool>)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    S: hyper::service::HttpService<hyper::body::Incoming> + Send,
    S::Future: Send + 'static,
    S::ResBody: 'static + Send,
    <S::ResBody as hyper::body::Body>::Data: Send,
    <S::ResBody as hyper::body::Body>::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let conn = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
        .timer(TokioTimer::new())
        .keep_alive_interval(Duration::from_secs(20))
        .keep_alive_timeout(Duration::from_secs(20))
        .serve_connection(io, service);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => return,
        _ = stop_rx.wait_for(|stop| *stop) => conn.as_mut().graceful_shutdown(),
    }
    let _ = conn.await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(per_address: usize, total: usize) -> Limits {
        Limits {
            header_timeout: Duration::from_secs(1),
            per_address,
            total,
        }
    }

    #[test]
    fn an_address_gets_its_limit_and_a_freed_slot_is_given_back() {
        let slots = Arc::new(Slots::default());
        let l = limits(2, 10);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let first = slots.take(a, &l).unwrap();
        let _second = slots.take(a, &l).unwrap();
        assert_eq!(slots.take(a, &l).unwrap_err(), Refused::PerAddress);
        let _other = slots.take(b, &l).unwrap();
        drop(first);
        assert!(slots.take(a, &l).is_ok());
    }

    #[test]
    fn all_addresses_together_stay_under_the_total() {
        let slots = Arc::new(Slots::default());
        let l = limits(10, 3);
        let held: Vec<Slot> = (1..=3)
            .map(|i| slots.take(IpAddr::from([10, 0, 0, i]), &l).unwrap())
            .collect();
        assert_eq!(
            slots.take("10.0.0.9".parse().unwrap(), &l).unwrap_err(),
            Refused::Total
        );
        assert_eq!(slots.open(), 3);
        drop(held);
        assert_eq!(slots.open(), 0);
    }

    #[test]
    fn one_address_holds_at_most_half_of_all_connections() {
        let slots = Arc::new(Slots::default());
        let l = limits(400, 128);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let held: Vec<Slot> = (0..64).map(|_| slots.take(a, &l).unwrap()).collect();
        assert_eq!(slots.take(a, &l).unwrap_err(), Refused::PerAddress);
        assert!(slots.take("10.0.0.2".parse().unwrap(), &l).is_ok());
        drop(held);
    }

    #[test]
    fn the_total_leaves_descriptors_for_the_rest_of_the_process() {
        assert_eq!(total_for(1024), 896);
        assert_eq!(total_for(100), 16);
        assert_eq!(total_for(u64::MAX), 60_000);
    }
}
