//! A tiny JSON object writer for the simulator's hot frames and number-sensitive bodies.
//!
//! `serde_json` always spells numbers its own way (`6.314e-5`, no trailing zeros). The venues do
//! not: Upbit writes tiny values with a capital-E exponent (`7.9276E-4`, `5.0E-4`) and Dunamu keeps
//! trailing zeros (`1384.50`). Parsers must survive both, so the simulator writes those bodies with
//! this writer and controls the spelling per field. Output is always valid JSON: non-finite numbers
//! become `null` and strings are escaped.

use std::fmt::Write as _;

/// How a number is spelled on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Num {
    /// Shortest round-trip decimal without exponent (`36929`, `0.00006314`, `27800806282.39862`).
    Plain,
    /// Like [`Num::Plain`], but magnitudes below 1e-3 use Java's capital-E form (`7.9276E-4`,
    /// `5.0E-4`), as Upbit's Java serialiser does.
    JavaSmall,
    /// Fixed number of decimals, trailing zeros kept (`1384.50`).
    Fixed(usize),
}

/// Builds one JSON object as a `String`, field by field, in insertion order.
pub(crate) struct JsonObject {
    buf: String,
    empty: bool,
}

impl JsonObject {
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        let mut buf = String::with_capacity(capacity);
        buf.push('{');
        JsonObject { buf, empty: true }
    }

    fn key(&mut self, key: &str) {
        if !self.empty {
            self.buf.push(',');
        }
        self.empty = false;
        push_str(&mut self.buf, key);
        self.buf.push(':');
    }

    pub(crate) fn str(&mut self, key: &str, value: &str) -> &mut Self {
        self.key(key);
        push_str(&mut self.buf, value);
        self
    }

    pub(crate) fn int(&mut self, key: &str, value: i64) -> &mut Self {
        self.key(key);
        let _ = write!(self.buf, "{value}");
        self
    }

    pub(crate) fn bool(&mut self, key: &str, value: bool) -> &mut Self {
        self.key(key);
        self.buf.push_str(if value { "true" } else { "false" });
        self
    }

    pub(crate) fn null(&mut self, key: &str) -> &mut Self {
        self.key(key);
        self.buf.push_str("null");
        self
    }

    pub(crate) fn num(&mut self, key: &str, value: f64, style: Num) -> &mut Self {
        self.key(key);
        push_num(&mut self.buf, value, style);
        self
    }

    /// `value` must already be valid JSON (a nested object built by another writer).
    pub(crate) fn raw(&mut self, key: &str, value: &str) -> &mut Self {
        self.key(key);
        self.buf.push_str(value);
        self
    }

    pub(crate) fn finish(mut self) -> String {
        self.buf.push('}');
        self.buf
    }
}

/// Appends `value` as a JSON string literal.
pub(crate) fn push_str(buf: &mut String, value: &str) {
    buf.push('"');
    for c in value.chars() {
        match c {
            '"' => buf.push_str("\\\""),
            '\\' => buf.push_str("\\\\"),
            '\n' => buf.push_str("\\n"),
            '\r' => buf.push_str("\\r"),
            '\t' => buf.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(buf, "\\u{:04x}", u32::from(c));
            }
            c => buf.push(c),
        }
    }
    buf.push('"');
}

/// Appends `value` spelled in `style`; `null` when it is not finite (JSON has no NaN).
pub(crate) fn push_num(buf: &mut String, value: f64, style: Num) {
    if !value.is_finite() {
        buf.push_str("null");
        return;
    }
    // `-0.0` would print as `-0`: valid JSON, but no venue sends it.
    let value = if value == 0.0 { 0.0 } else { value };
    match style {
        Num::JavaSmall if value != 0.0 && value.abs() < 1e-3 => {
            let mut spelled = format!("{value:E}");
            // Rust writes `5E-4`; Java always keeps one fractional digit: `5.0E-4`.
            if let Some((mantissa, _)) = spelled.split_once('E')
                && !mantissa.contains('.')
            {
                spelled.insert_str(mantissa.len(), ".0");
            }
            buf.push_str(&spelled);
        }
        Num::Plain | Num::JavaSmall => {
            let _ = write!(buf, "{value}");
        }
        Num::Fixed(decimals) => {
            let _ = write!(buf, "{value:.decimals$}");
        }
    }
}

/// `value` rounded to `decimals` places so that its shortest spelling is the decimal itself
/// (dividing by an exact power of ten keeps `0.1 * 3` from printing as `0.30000000000000004`).
pub(crate) fn round_decimals(value: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (value * scale).round() / scale
}

/// `value` rounded to `decimals` places, spelled without exponent or trailing zeros (`"9910"`,
/// `"0.014"`), as Binance, Bybit and OKX write most numbers.
pub(crate) fn plain(value: f64, decimals: i32) -> String {
    let v = round_decimals(value, decimals);
    let v = if v == 0.0 || !v.is_finite() { 0.0 } else { v };
    format!("{v}")
}

/// `value` with exactly `decimals` places, trailing zeros kept (`"82396.90"`, `"0.00038167"`).
pub(crate) fn fixed(value: f64, decimals: i32) -> String {
    let d = usize::try_from(decimals.max(0)).unwrap_or(0);
    let v = round_decimals(value, decimals);
    let v = if v == 0.0 || !v.is_finite() { 0.0 } else { v };
    format!("{v:.d$}")
}

/// A well-mixed 64-bit value from `n` (splitmix64): venue-style connection ids and stable
/// per-seed choices that must not draw from the model's generators.
pub(crate) fn mix64(n: u64) -> u64 {
    let mut z = n.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Cuts a frame in half at a char boundary: the simulator's "truncated JSON" garbage.
pub(crate) fn truncate_half(frame: &str) -> &str {
    let mut cut = frame.len() / 2;
    while !frame.is_char_boundary(cut) {
        cut -= 1;
    }
    frame.get(..cut).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spell(value: f64, style: Num) -> String {
        let mut s = String::new();
        push_num(&mut s, value, style);
        s
    }

    #[test]
    fn numbers_are_spelled_like_the_venues() {
        assert_eq!(spell(36929.0, Num::Plain), "36929");
        assert_eq!(spell(0.000_063_14, Num::Plain), "0.00006314");
        assert_eq!(spell(7.9276e-4, Num::JavaSmall), "7.9276E-4");
        assert_eq!(spell(5.0e-4, Num::JavaSmall), "5.0E-4");
        assert_eq!(spell(0.0082, Num::JavaSmall), "0.0082");
        assert_eq!(spell(-2.5e-5, Num::JavaSmall), "-2.5E-5");
        assert_eq!(spell(1384.5, Num::Fixed(2)), "1384.50");
        assert_eq!(spell(f64::NAN, Num::Plain), "null");
        assert_eq!(spell(-0.0, Num::JavaSmall), "0");
        for s in ["7.9276E-4", "5.0E-4", "-2.5E-5"] {
            assert!(
                serde_json::from_str::<f64>(s).is_ok(),
                "{s} must stay valid JSON"
            );
        }
    }

    #[test]
    fn object_is_valid_json_with_escapes() {
        let mut o = JsonObject::with_capacity(64);
        o.str("a", "x\"y\\z\u{1}")
            .int("b", -3)
            .bool("c", true)
            .null("d")
            .num("e", 0.1 * 3.0, Num::Plain)
            .num("f", round_decimals(0.1 * 3.0, 8), Num::Plain);
        let text = o.finish();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["a"], "x\"y\\z\u{1}");
        assert_eq!(v["b"], -3);
        assert!(v["d"].is_null());
        assert!(text.ends_with("\"f\":0.3}"), "{text}");
    }

    #[test]
    fn plain_and_fixed_decimals() {
        assert_eq!(plain(9910.0, 2), "9910");
        assert_eq!(plain(0.014_000_1, 3), "0.014");
        assert_eq!(plain(-0.0, 3), "0");
        assert_eq!(fixed(82_396.9, 2), "82396.90");
        assert_eq!(fixed(20_000.0, 0), "20000");
        assert_eq!(fixed(0.000_381_67, 8), "0.00038167");
    }

    #[test]
    fn mixed_values_differ() {
        let ids: std::collections::BTreeSet<u64> = (0..1000).map(mix64).collect();
        assert_eq!(ids.len(), 1000);
    }

    #[test]
    fn truncation_respects_char_boundaries() {
        assert_eq!(truncate_half("{\"a\":1}"), "{\"a");
        let korean = "비트코인";
        assert!(korean.starts_with(truncate_half(korean)));
    }
}
