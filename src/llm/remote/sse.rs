//! Server-sent events (`text/event-stream`, as the WHATWG HTML standard defines them) read from a blocking reader:
//! `data:` lines are joined with newlines, a blank line ends an event, `:` lines are comments. An event cut off by
//! the end of the stream is dropped, as the standard says; whether the reply as a whole was finished is the
//! protocol's to say (`[DONE]`, a finish reason). A line longer than [`MAX_LINE`] is an error, not a reason to hold
//! the whole stream in memory.

use std::io::{self, BufRead};

/// The longest line read (an event's data line included).
pub const MAX_LINE: usize = 1 << 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The `event:` field, when one was sent.
    pub name: Option<String>,
    pub data: String,
}

pub struct Events<R> {
    reader: R,
    line: Vec<u8>,
}

impl<R: BufRead> Events<R> {
    pub fn new(reader: R) -> Events<R> {
        Events {
            reader,
            line: Vec::new(),
        }
    }

    /// The next line without its end, `None` at the end of the stream.
    fn next_line(&mut self) -> io::Result<Option<String>> {
        self.line.clear();
        let n = io::Read::take(&mut self.reader, MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut self.line)?;
        if n == 0 {
            return Ok(None);
        }
        if self.line.len() > MAX_LINE {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("an event line is longer than {MAX_LINE} bytes"),
            ));
        }
        while matches!(self.line.last(), Some(b'\n' | b'\r')) {
            self.line.pop();
        }
        String::from_utf8(std::mem::take(&mut self.line))
            .map(Some)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "an event is not UTF-8"))
    }
}

impl<R: BufRead> Iterator for Events<R> {
    type Item = io::Result<Event>;

    fn next(&mut self) -> Option<io::Result<Event>> {
        let mut name = None;
        let mut data: Option<String> = None;
        loop {
            let line = match self.next_line() {
                Ok(Some(line)) => line,
                // The end of the stream: an event without its blank line is incomplete and dropped.
                Ok(None) => return None,
                Err(e) => return Some(Err(e)),
            };
            if line.is_empty() {
                match data.take() {
                    Some(data) => return Some(Ok(Event { name, data })),
                    None => {
                        name = None;
                        continue;
                    }
                }
            }
            if line.starts_with(':') {
                continue;
            }
            let (field, value) = match line.split_once(':') {
                Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
                None => (line.as_str(), ""),
            };
            match field {
                "data" => {
                    let d = data.get_or_insert_with(String::new);
                    if !d.is_empty() {
                        d.push('\n');
                    }
                    d.push_str(value);
                }
                "event" => name = Some(value.to_string()),
                // `id` and `retry` matter to browsers reconnecting, not to one request's reply.
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(text: &str) -> Vec<io::Result<Event>> {
        Events::new(io::BufReader::new(text.as_bytes())).collect()
    }

    fn data(text: &str) -> Vec<String> {
        events(text).into_iter().map(|e| e.unwrap().data).collect()
    }

    #[test]
    fn events_are_split_on_blank_lines_and_multi_line_data_is_joined() {
        assert_eq!(
            data("data: {\"a\":1}\n\ndata: first\ndata:second\n\n"),
            vec!["{\"a\":1}", "first\nsecond"]
        );
        // CRLF line ends, comments (llama.cpp and proxies send keep-alive comments) and fields with no data.
        assert_eq!(
            data(": ping\r\n\r\nid: 4\r\ndata: x\r\n\r\nretry: 10\n\n"),
            vec!["x"]
        );
        let named = events("event: response.done\ndata: {}\n\n");
        let e = named[0].as_ref().unwrap();
        assert_eq!(e.name.as_deref(), Some("response.done"));
        assert_eq!(e.data, "{}");
    }

    #[test]
    fn an_event_cut_off_by_the_end_of_the_stream_is_dropped() {
        assert_eq!(data("data: whole\n\ndata: half"), vec!["whole"]);
        assert_eq!(data("data: whole\n\ndata: half\n"), vec!["whole"]);
        assert!(data("").is_empty());
    }

    #[test]
    fn bytes_that_are_not_text_and_endless_lines_are_errors() {
        let bad = Events::new(io::BufReader::new(&b"data: \xff\xfe\n\n"[..])).next();
        assert!(matches!(bad, Some(Err(e)) if e.kind() == io::ErrorKind::InvalidData));
        let long = format!("data: {}\n\n", "a".repeat(MAX_LINE + 10));
        let mut it = Events::new(io::BufReader::new(long.as_bytes()));
        assert!(matches!(it.next(), Some(Err(e)) if e.to_string().contains("longer")));
    }
}
