//! The recording's line format (README "Recording format"): one JSON object per line, the header
//! first. Both the writer and the reader use these types, so the format lives in one place.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::model::{FeedState, Millis};
use crate::state::snapshot::Pair;

/// The format version in the header; a reader refuses any other.
pub const FORMAT_VERSION: u32 = 1;

/// The first line of every recording.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    /// [`FORMAT_VERSION`]; its presence marks the file as a kimp recording.
    pub kimp_recording: u32,
    /// The kimp that wrote it (`CARGO_PKG_VERSION`).
    pub kimp_version: String,
    /// When recording started (epoch ms).
    pub started_ms: Millis,
    /// The venue pair of the premium columns.
    pub pair: Pair,
    /// The feeds that were enabled.
    pub feeds: Vec<String>,
}

/// What a line holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A WebSocket data frame (text or binary) as it arrived.
    Ws,
    /// A WebSocket connection of session `s` was established (parsers drop per-connection state).
    Open,
    /// A REST response body; `src` names the request when a feed makes more than one kind.
    Rest,
    /// A feed status transition (`state`, `at`, `detail`).
    Status,
}

/// One record line. Fields that a kind does not use are absent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Line<'a> {
    /// Receive time, epoch ms.
    pub t: Millis,
    #[serde(borrow)]
    pub feed: Cow<'a, str>,
    pub kind: Kind,
    /// The session (one per stream task) a `ws`/`open` line belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s: Option<u64>,
    #[serde(default, borrow, skip_serializing_if = "Option::is_none")]
    pub src: Option<Cow<'a, str>>,
    /// The payload when it is valid UTF-8.
    #[serde(default, borrow, skip_serializing_if = "Option::is_none")]
    pub text: Option<Cow<'a, str>>,
    /// The payload, standard base64, when it is not UTF-8.
    #[serde(default, borrow, skip_serializing_if = "Option::is_none")]
    pub b64: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<FeedState>,
    /// A status's own time (epoch ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<Millis>,
    #[serde(default, borrow, skip_serializing_if = "Option::is_none")]
    pub detail: Option<Cow<'a, str>>,
}

impl<'a> Line<'a> {
    /// A line of `kind` with no optional field set.
    #[must_use]
    pub fn new(t: Millis, feed: &'a str, kind: Kind) -> Self {
        Line {
            t,
            feed: Cow::Borrowed(feed),
            kind,
            s: None,
            src: None,
            text: None,
            b64: None,
            state: None,
            at: None,
            detail: None,
        }
    }

    /// Sets the payload: `text` when `bytes` is UTF-8, `b64` otherwise.
    #[must_use]
    pub fn with_payload(mut self, bytes: &'a [u8]) -> Self {
        if let Ok(text) = std::str::from_utf8(bytes) {
            self.text = Some(Cow::Borrowed(text));
        } else {
            use base64::Engine as _;
            let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
            self.b64 = Some(Cow::Owned(b64));
        }
        self
    }

    /// The payload bytes of a `ws`/`rest` line.
    pub fn payload(&self) -> Result<Cow<'_, [u8]>, String> {
        use base64::Engine as _;
        match (&self.text, &self.b64) {
            (Some(text), None) => Ok(Cow::Borrowed(text.as_bytes())),
            (None, Some(b64)) => base64::engine::general_purpose::STANDARD
                .decode(b64.as_bytes())
                .map(Cow::Owned)
                .map_err(|e| format!("`b64`: {e}")),
            (Some(_), Some(_)) => Err("both `text` and `b64`".into()),
            (None, None) => Err("no payload (`text` or `b64`)".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_binary_payloads_round_trip() {
        let text = Line::new(1, "upbit.ticker", Kind::Ws).with_payload(b"{\"a\":1}");
        let json = serde_json::to_string(&text).unwrap();
        assert_eq!(
            json,
            r#"{"t":1,"feed":"upbit.ticker","kind":"ws","text":"{\"a\":1}"}"#
        );
        let binary = [0xff, 0x00, b'x'];
        let line = Line::new(2, "f", Kind::Rest).with_payload(&binary);
        let json = serde_json::to_string(&line).unwrap();
        let back: Line<'_> = serde_json::from_str(&json).unwrap();
        assert_eq!(back.payload().unwrap().as_ref(), &binary);
        let empty: Line<'_> = serde_json::from_str(r#"{"t":1,"feed":"f","kind":"ws"}"#).unwrap();
        assert!(empty.payload().is_err());
    }
}
