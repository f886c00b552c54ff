//! For the remote speech backends' unit tests: a server on port 0 that takes one request whole, hands its head
//! lines and body to the test, and answers as the test says.

use std::{
    io::{BufRead, BufReader, Read},
    net::{TcpListener, TcpStream},
    sync::mpsc,
};

/// A request's head lines (the request line first) and body.
pub type Received = (Vec<String>, Vec<u8>);

/// Accepts one connection on a new server; `answer` writes the reply to it. Returns the API's base URL (`/v1`)
/// and what the server received.
pub fn one_request(
    answer: impl FnOnce(TcpStream) + Send + 'static,
) -> (String, mpsc::Receiver<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut head = Vec::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if line.trim().is_empty() {
                break;
            }
            head.push(line.trim_end().to_string());
        }
        let length: usize = head
            .iter()
            .find_map(|h| {
                h.to_ascii_lowercase()
                    .strip_prefix("content-length:")
                    .map(|v| v.trim().parse().unwrap())
            })
            .unwrap_or(0);
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        tx.send((head, body)).unwrap();
        answer(stream);
    });
    (url, rx)
}
