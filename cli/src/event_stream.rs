//! Reading events as they come: one JSON event, a JSON array of events, or any number of
//! JSON values separated by white space (JSON lines), from a file or a pipe.
//!
//! The stream finds where each value starts and ends (checking its syntax without
//! building it) and hands over its bytes; the caller parses them into whatever it wants,
//! once.
//!
//! Memory stays bounded by the largest event, not by the input: the reader keeps one
//! window of bytes, parses each value from it, and drops what it has consumed. Positions
//! (line and column, 1-based, in bytes) are kept up to date incrementally, so reporting
//! one costs nothing however far into the input it is.

use std::io::Read;

use serde::de::IgnoredAny;

/// How much is asked of the reader at a time.
const CHUNK: usize = 64 * 1024;

/// Where a value starts in the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// 1-based line.
    pub line: u64,
    /// 1-based column, in bytes.
    pub column: u64,
}

impl std::fmt::Display for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// One item of the stream.
#[derive(Debug)]
pub enum Item {
    /// One well-formed JSON value.
    Value {
        /// Where it starts.
        at: Position,
        /// Its bytes.
        json: Vec<u8>,
    },
    /// A value larger than the event limit; it was skipped.
    TooLarge {
        /// Where it starts.
        at: Position,
        /// Its size in the input.
        bytes: usize,
    },
}

/// Why the stream stopped early. After any of these nothing more is read: the input
/// cannot be resynchronised reliably.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// The reader failed.
    #[error("cannot read the input: {0}")]
    Io(#[from] std::io::Error),
    /// Not JSON.
    #[error("{at}: invalid JSON: {message}")]
    Syntax {
        /// Where the parser stopped.
        at: Position,
        /// The parser's message.
        message: String,
    },
    /// Bytes that are not UTF-8.
    #[error("{at}: input is not valid UTF-8 (first bad byte at offset {offset})")]
    Utf8 {
        /// Where the bad byte is.
        at: Position,
        /// Its byte offset from the start of the input.
        offset: u64,
    },
    /// An event larger than the limit that the input ends inside of.
    #[error(
        "{at}: event is larger than the limit of {limit} bytes (--max-event-bytes), and the input ends inside it"
    )]
    Unterminated {
        /// Where the event starts.
        at: Position,
        /// The limit.
        limit: usize,
    },
    /// More input than allowed in total.
    #[error("input is larger than the limit of {limit} bytes (--max-input-bytes)")]
    InputTooLarge {
        /// The limit.
        limit: u64,
    },
}

impl StreamError {
    /// Where in the input it is, when it is at one place.
    pub fn position(&self) -> Option<Position> {
        match self {
            StreamError::Syntax { at, .. }
            | StreamError::Utf8 { at, .. }
            | StreamError::Unterminated { at, .. } => Some(*at),
            StreamError::Io(_) | StreamError::InputTooLarge { .. } => None,
        }
    }
}

/// An iterator of [`Item`]s over a reader.
pub struct EventStream<R> {
    reader: R,
    /// Unconsumed input; `buf[start..]` is what is left to parse.
    buf: Vec<u8>,
    start: usize,
    eof: bool,
    /// Absolute offset of `buf[start]`, and the line and column there.
    offset: u64,
    line: u64,
    column: u64,
    /// Inside a top-level `[...]`; `first` until its first element is read.
    in_array: bool,
    first: bool,
    done: bool,
    max_event: usize,
    max_input: Option<u64>,
    /// Called before the reader is asked for more (and may block): the caller flushes
    /// its output there, so a live pipe sees each answer before the next question.
    before_read: Box<dyn FnMut()>,
}

impl<R: Read> EventStream<R> {
    /// A stream over `reader` that refuses events larger than `max_event` bytes and more
    /// than `max_input` bytes in all.
    pub fn new(reader: R, max_event: usize, max_input: Option<u64>) -> Self {
        EventStream {
            reader,
            buf: Vec::with_capacity(CHUNK),
            start: 0,
            eof: false,
            offset: 0,
            line: 1,
            column: 1,
            in_array: false,
            first: false,
            done: false,
            max_event,
            max_input,
            before_read: Box::new(|| {}),
        }
    }

    /// Run `hook` each time before the reader is asked for more input.
    pub fn before_read(mut self, hook: impl FnMut() + 'static) -> Self {
        self.before_read = Box::new(hook);
        self
    }

    fn at(&self) -> Position {
        Position {
            line: self.line,
            column: self.column,
        }
    }

    /// Read one more chunk. Returns false at the end of the input.
    fn fill(&mut self) -> Result<bool, StreamError> {
        if self.eof {
            return Ok(false);
        }
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        (self.before_read)();
        let len = self.buf.len();
        self.buf.resize(len + CHUNK, 0);
        let n = loop {
            match self.reader.read(&mut self.buf[len..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.buf.truncate(len);
                    return Err(e.into());
                }
            }
        };
        self.buf.truncate(len + n);
        if n == 0 {
            self.eof = true;
            return Ok(false);
        }
        if let Some(limit) = self.max_input {
            if self.offset + (self.buf.len() as u64) > limit {
                return Err(StreamError::InputTooLarge { limit });
            }
        }
        Ok(true)
    }

    /// Move past `n` bytes, keeping the position current.
    fn consume(&mut self, n: usize) {
        let taken = &self.buf[self.start..self.start + n];
        match memchr::memrchr(b'\n', taken) {
            Some(last) => {
                self.line += memchr::memchr_iter(b'\n', taken).count() as u64;
                self.column = (n - last) as u64;
            }
            None => self.column += n as u64,
        }
        self.start += n;
        self.offset += n as u64;
    }

    /// Skip white space; returns the next byte, or None at the end of the input.
    fn peek(&mut self) -> Result<Option<u8>, StreamError> {
        loop {
            let rest = &self.buf[self.start..];
            let ws = rest
                .iter()
                .take_while(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
                .count();
            self.consume(ws);
            if let Some(&b) = self.buf.get(self.start) {
                return Ok(Some(b));
            }
            if !self.fill()? {
                return Ok(None);
            }
        }
    }

    /// Read one value at the current position.
    fn value(&mut self) -> Result<Item, StreamError> {
        loop {
            let rest = &self.buf[self.start..];
            let mut values = serde_json::Deserializer::from_slice(rest).into_iter::<IgnoredAny>();
            match values.next() {
                Some(Ok(_)) => {
                    let bytes = values.byte_offset();
                    // A number or literal at the very end of the window may go on in the
                    // next chunk; objects, arrays and strings end with their delimiter.
                    let open_ended =
                        !matches!(rest.first(), Some(b'{' | b'[' | b'"')) && bytes == rest.len();
                    if open_ended && !self.eof && self.fill()? {
                        continue;
                    }
                    // Skipping a value does not look inside its strings: check that
                    // they are UTF-8 here, where the position can still be told.
                    if let Err(bad) = std::str::from_utf8(&self.buf[self.start..self.start + bytes])
                    {
                        return Err(self.utf8_error(bad.valid_up_to()));
                    }
                    let at = self.at();
                    let item = if bytes > self.max_event {
                        Item::TooLarge { at, bytes }
                    } else {
                        Item::Value {
                            at,
                            json: self.buf[self.start..self.start + bytes].to_vec(),
                        }
                    };
                    self.consume(bytes);
                    return Ok(item);
                }
                Some(Err(e)) if e.is_eof() && !self.eof => {
                    if rest.len() > self.max_event {
                        let at = self.at();
                        let bytes = self.skip_value(at)?;
                        return Ok(Item::TooLarge { at, bytes });
                    }
                    self.fill()?;
                }
                Some(Err(e)) => return Err(self.syntax_error(&e)),
                None => unreachable!("peek found a byte, so there is a value to read"),
            }
        }
    }

    /// Skip a value too large to hold, without holding it: follow strings and brackets
    /// until the value closes. Returns its size. Only the nesting is followed, not the
    /// grammar: the value is refused whatever it holds.
    fn skip_value(&mut self, at: Position) -> Result<usize, StreamError> {
        let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
        let mut skipped = 0usize;
        loop {
            let rest = &self.buf[self.start..];
            let mut end = None;
            for (i, &b) in rest.iter().enumerate() {
                if in_string {
                    match (escaped, b) {
                        (true, _) => escaped = false,
                        (false, b'\\') => escaped = true,
                        (false, b'"') => in_string = false,
                        _ => {}
                    }
                    if !in_string && depth == 0 {
                        end = Some(i + 1); // a top-level string
                    }
                } else {
                    match b {
                        b'"' => in_string = true,
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth = depth.saturating_sub(1);
                            if depth == 0 {
                                end = Some(i + 1);
                            }
                        }
                        b' ' | b'\t' | b'\n' | b'\r' if depth == 0 => end = Some(i), // a scalar
                        _ => {}
                    }
                }
                if end.is_some() {
                    break;
                }
            }
            let n = end.unwrap_or(rest.len());
            self.consume(n);
            skipped += n;
            if end.is_some() {
                return Ok(skipped);
            }
            if !self.fill()? {
                return Err(StreamError::Unterminated {
                    at,
                    limit: self.max_event,
                });
            }
        }
    }

    /// The error for a byte that is not UTF-8, `valid` bytes into the window.
    fn utf8_error(&self, valid: usize) -> StreamError {
        let before = &self.buf[self.start..self.start + valid];
        let at = match memchr::memrchr(b'\n', before) {
            Some(last) => Position {
                line: self.line + memchr::memchr_iter(b'\n', before).count() as u64,
                column: (valid - last) as u64,
            },
            None => Position {
                line: self.line,
                column: self.column + valid as u64,
            },
        };
        StreamError::Utf8 {
            at,
            offset: self.offset + valid as u64,
        }
    }

    /// Locate a parse error in the whole input, and name bad UTF-8 as such.
    fn syntax_error(&self, e: &serde_json::Error) -> StreamError {
        let rest = &self.buf[self.start..];
        let stopped = Position {
            line: self.line + e.line() as u64 - 1,
            // serde_json's column 0 is "before the first character of the line".
            column: if e.line() == 1 {
                self.column + (e.column() as u64).max(1) - 1
            } else {
                (e.column() as u64).max(1)
            },
        };
        // A byte that is not UTF-8 at or before where the parser stopped is the cause
        // (a sequence merely cut at the window's end has no error_len).
        if let Err(bad) = std::str::from_utf8(rest) {
            if bad.error_len().is_some() {
                let error = self.utf8_error(bad.valid_up_to());
                if let StreamError::Utf8 { at, .. } = &error {
                    if (at.line, at.column) <= (stopped.line, stopped.column) {
                        return error;
                    }
                }
            }
        }
        let message = e.to_string();
        // serde_json appends " at line L column C", relative to the window: drop it.
        let message = match message.rfind(" at line ") {
            Some(i) => message[..i].to_string(),
            None => message,
        };
        StreamError::Syntax {
            at: stopped,
            message,
        }
    }

    fn next_item(&mut self) -> Result<Option<Item>, StreamError> {
        loop {
            let Some(b) = self.peek()? else {
                if self.in_array {
                    return Err(StreamError::Syntax {
                        at: self.at(),
                        message: "the input ends inside a JSON array (missing `]`)".into(),
                    });
                }
                return Ok(None);
            };
            if !self.in_array {
                if b == b'[' {
                    self.consume(1);
                    self.in_array = true;
                    self.first = true;
                    continue;
                }
                return self.value().map(Some);
            }
            // Inside the top-level array: `]`, or a separator then an element.
            if b == b']' {
                self.consume(1);
                self.in_array = false;
                continue;
            }
            if !self.first {
                if b != b',' {
                    return Err(StreamError::Syntax {
                        at: self.at(),
                        message: "expected `,` or `]` after an array element".into(),
                    });
                }
                self.consume(1);
                if self.peek()?.is_none() {
                    continue; // reported as the missing `]` above
                }
            }
            self.first = false;
            return self.value().map(Some);
        }
    }
}

impl<R: Read> Iterator for EventStream<R> {
    type Item = Result<Item, StreamError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.next_item() {
            Ok(Some(item)) => Some(Ok(item)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// A reader that hands out at most `n` bytes per call, to cut values anywhere.
    struct Trickle<'a>(&'a [u8], usize);

    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            let n = self.1.min(self.0.len()).min(out.len());
            out[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    fn items(input: &str, step: usize) -> Vec<Result<(Position, Value), String>> {
        EventStream::new(Trickle(input.as_bytes(), step), 1 << 20, None)
            .map(|r| match r {
                Ok(Item::Value { at, json }) => Ok((at, serde_json::from_slice(&json).unwrap())),
                Ok(Item::TooLarge { at, .. }) => Err(format!("too large at {at}")),
                Err(e) => Err(e.to_string()),
            })
            .collect()
    }

    fn pos(line: u64, column: u64) -> Position {
        Position { line, column }
    }

    #[test]
    fn json_lines_give_each_value_with_its_position_however_the_input_is_cut() {
        let input = "{\"a\":1}\n  {\"b\":[1,2]}\n\n{\"c\":\"x\\ny\"}\n";
        for step in [1, 2, 3, 7, 1000] {
            let got = items(input, step);
            assert_eq!(got.len(), 3, "step {step}: {got:?}");
            assert_eq!(got[0].as_ref().unwrap().0, pos(1, 1));
            assert_eq!(got[1].as_ref().unwrap().0, pos(2, 3));
            assert_eq!(got[2].as_ref().unwrap().0, pos(4, 1));
        }
    }

    #[test]
    fn a_top_level_array_is_read_element_by_element() {
        let input = "[\n {\"a\":1},\n {\"a\":2}\n]\n{\"a\":3}";
        for step in [1, 5, 1000] {
            let got = items(input, step);
            let values: Vec<_> = got
                .iter()
                .map(|r| r.as_ref().unwrap().1["a"].clone())
                .collect();
            assert_eq!(values, vec![1, 2, 3], "step {step}");
            assert_eq!(got[1].as_ref().unwrap().0, pos(3, 2));
        }
    }

    #[test]
    fn an_empty_array_and_empty_input_give_nothing() {
        assert!(items("[]", 1).is_empty());
        assert!(items(" \n ", 1).is_empty());
    }

    #[test]
    fn a_syntax_error_is_located_in_the_whole_input_and_ends_the_stream() {
        let got = items("{\"a\":1}\n{\"b\":}\n{\"c\":1}", 3);
        assert_eq!(got.len(), 2);
        let err = got[1].as_ref().unwrap_err();
        assert!(err.starts_with("2:6: invalid JSON"), "{err}");
    }

    #[test]
    fn a_truncated_value_is_an_error() {
        let got = items("{\"a\":1}\n{\"b\":", 2);
        let err = got[1].as_ref().unwrap_err();
        assert!(err.contains("2:"), "{err}");
    }

    #[test]
    fn a_missing_separator_or_bracket_in_an_array_is_an_error() {
        let got = items("[{\"a\":1} {\"a\":2}]", 4);
        assert!(got[1].as_ref().unwrap_err().contains("expected `,` or `]`"));
        let got = items("[{\"a\":1},", 4);
        assert!(got[1].as_ref().unwrap_err().contains("missing `]`"));
    }

    #[test]
    fn invalid_utf8_is_named_with_its_offset() {
        let mut input = b"{\"a\":1}\n{\"p\":\"/tmp/".to_vec();
        input.extend_from_slice(&[0xff, 0xfe]);
        input.extend_from_slice(b"\"}\n");
        let got: Vec<_> = EventStream::new(Trickle(&input, 5), 1 << 20, None).collect();
        let err = got[1].as_ref().unwrap_err().to_string();
        assert!(err.contains("UTF-8") && err.contains("offset 19"), "{err}");
        assert!(err.starts_with("2:12:"), "{err}");
    }

    #[test]
    fn an_oversized_event_is_skipped_and_an_unterminated_one_stops_the_stream() {
        let big = format!("{{\"a\":\"{}\"}}", "x".repeat(100));
        let input = format!("{big}\n{{\"b\":1}}\n");
        let got: Vec<_> = EventStream::new(Trickle(input.as_bytes(), 7), 50, None).collect();
        assert!(matches!(got[0], Ok(Item::TooLarge { bytes: 108, .. })));
        assert!(matches!(got[1], Ok(Item::Value { .. })));
        // Brackets and escaped quotes inside strings do not end the skipped value.
        let tricky = format!(
            "{{\"a\":[\"}}]\\\"{{\", {{\"b\":\"{}\"}}]}}",
            "y".repeat(100)
        );
        let input = format!("{tricky}\n{{\"c\":2}}\n");
        let got: Vec<_> = EventStream::new(Trickle(input.as_bytes(), 3), 50, None).collect();
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(matches!(got[0], Ok(Item::TooLarge { .. })), "{got:?}");
        match &got[1] {
            Ok(Item::Value { at, json }) => {
                assert_eq!(json, b"{\"c\":2}");
                assert_eq!(*at, pos(2, 1));
            }
            other => panic!("{other:?}"),
        }
        let input = format!("{{\"a\":\"{}", "x".repeat(200));
        let got: Vec<_> = EventStream::new(Trickle(input.as_bytes(), 7), 50, None).collect();
        assert!(matches!(got[0], Err(StreamError::Unterminated { .. })));
    }

    #[test]
    fn the_input_limit_is_enforced() {
        let input = "{\"a\":1}\n".repeat(100);
        let got: Vec<_> =
            EventStream::new(Trickle(input.as_bytes(), 64), 1 << 20, Some(100)).collect();
        assert!(matches!(
            got.last(),
            Some(Err(StreamError::InputTooLarge { limit: 100 }))
        ));
    }

    #[test]
    fn numbers_cut_by_a_chunk_boundary_are_read_whole() {
        let got = items("12345 678", 2);
        let values: Vec<_> = got.iter().map(|r| r.as_ref().unwrap().1.clone()).collect();
        assert_eq!(values, vec![Value::from(12345), Value::from(678)]);
    }
}
