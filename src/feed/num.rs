//! Numbers as the venues send them, read without `serde_json::Value` (exchanges.md §16.16).
//!
//! Venues send a number as a JSON number (Upbit: `1.16539E8`, `0.00077720`,
//! `728107452.06423197609921044`) or as a JSON string (Binance, Bybit, OKX: `"250.00"`), use `""` or
//! `null` for "no value", and send millisecond timestamps as integers or strings. [`Num`] captures
//! any of these while the frame is deserialised — borrowing the string from the frame, so nothing is
//! allocated on the hot path — and converts only when a parser asks for a field it uses, so a
//! message type kimp ignores can never fail on a field kimp never reads. The `deserialize_with`
//! helpers ([`f64`], [`opt_f64`], [`ms`], [`opt_ms`]) apply the same rules to REST structs.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::feed::ParseError;
use crate::model::Millis;

/// A timestamp above this is taken for microseconds (1e14 ms is the year 5138; 1e14 µs is 1973).
const MICROS_THRESHOLD: i64 = 100_000_000_000_000;

/// A scalar field as it arrived (any JSON value is accepted; objects and arrays are skipped), converted later by [`Num::f64`] / [`Num::ms`].
#[derive(Debug, Clone, PartialEq)]
pub enum Num<'a> {
    Int(i64),
    UInt(u64),
    Float(f64),
    /// A string, borrowed from the frame unless it held escapes.
    Str(Cow<'a, str>),
    Null,
    Bool(bool),
    /// Something no number can come from: `"object"` or `"array"`.
    Other(&'static str),
}

impl Num<'_> {
    /// The value as `f64`: `null` and `""` are `None`; an unparsable string, a non-finite value
    /// or a bool/object/array is an error naming `field`.
    pub fn f64(&self, field: &'static str) -> Result<Option<f64>, ParseError> {
        let value = match self {
            Num::Int(v) => *v as f64,
            Num::UInt(v) => *v as f64,
            Num::Float(v) => *v,
            Num::Str(s) => match s.trim() {
                "" => return Ok(None),
                t => t
                    .parse::<f64>()
                    .map_err(|_| ParseError::field(field, format!("not a number: {}", clip(t))))?,
            },
            Num::Null => return Ok(None),
            Num::Bool(_) => return Err(ParseError::field(field, "expected a number, got bool")),
            Num::Other(kind) => {
                return Err(ParseError::field(
                    field,
                    format!("expected a number, got {kind}"),
                ));
            }
        };
        if value.is_finite() {
            Ok(Some(value))
        } else {
            Err(ParseError::field(field, "not a finite number"))
        }
    }

    /// The value as integer epoch milliseconds (from a number or a numeric string); `null` and
    /// `""` are `None`. A microsecond value (above 1e14) is converted to milliseconds.
    pub fn ms(&self, field: &'static str) -> Result<Option<Millis>, ParseError> {
        let raw = match self {
            Num::Int(v) => *v,
            Num::UInt(v) => {
                i64::try_from(*v).map_err(|_| ParseError::field(field, "timestamp out of range"))?
            }
            Num::Float(v) => float_to_int(*v)
                .ok_or_else(|| ParseError::field(field, "not an integer timestamp"))?,
            Num::Str(s) => match s.trim() {
                "" => return Ok(None),
                t => t
                    .parse::<i64>()
                    .ok()
                    .or_else(|| t.parse::<f64>().ok().and_then(float_to_int))
                    .ok_or_else(|| {
                        ParseError::field(field, format!("not a timestamp: {}", clip(t)))
                    })?,
            },
            Num::Null => return Ok(None),
            Num::Bool(_) => return Err(ParseError::field(field, "expected a timestamp, got bool")),
            Num::Other(kind) => {
                return Err(ParseError::field(
                    field,
                    format!("expected a timestamp, got {kind}"),
                ));
            }
        };
        Ok(Some(normalize_ms(raw)))
    }

    /// The value as text for messages (`404`, `"not_found"` → `not_found`).
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            Num::Int(v) => v.to_string(),
            Num::UInt(v) => v.to_string(),
            Num::Float(v) => v.to_string(),
            Num::Str(s) => clip(s).to_owned(),
            Num::Null => "null".to_owned(),
            Num::Bool(b) => b.to_string(),
            Num::Other(kind) => (*kind).to_owned(),
        }
    }
}

/// A required numeric field: missing, `null`, `""` or unparsable is an error.
pub fn required_f64(field: &'static str, value: Option<&Num<'_>>) -> Result<f64, ParseError> {
    optional_f64(field, value)?.ok_or_else(|| ParseError::field(field, "missing or empty"))
}

/// An optional numeric field: missing, `null` and `""` are `None`; unparsable is still an error.
pub fn optional_f64(
    field: &'static str,
    value: Option<&Num<'_>>,
) -> Result<Option<f64>, ParseError> {
    value.map_or(Ok(None), |v| v.f64(field))
}

/// An optional timestamp field (see [`Num::ms`]).
pub fn optional_ms(
    field: &'static str,
    value: Option<&Num<'_>>,
) -> Result<Option<Millis>, ParseError> {
    value.map_or(Ok(None), |v| v.ms(field))
}

/// Epoch ms from a timestamp that may be in microseconds (one Upbit recording has `1691530805062000`).
#[must_use]
pub fn normalize_ms(ts: i64) -> Millis {
    if ts > MICROS_THRESHOLD {
        ts / 1_000
    } else {
        ts
    }
}

/// `serde(deserialize_with)`: a required number from a number or a numeric string.
pub fn f64<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let num = Num::deserialize(d)?;
    required_f64("number", Some(&num)).map_err(de::Error::custom)
}

/// `serde(deserialize_with)` with `#[serde(default)]`: `null`, `""` or missing → `None`.
pub fn opt_f64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    let num = Num::deserialize(d)?;
    num.f64("number").map_err(de::Error::custom)
}

/// `serde(deserialize_with)`: required epoch ms from an integer or a numeric string.
pub fn ms<'de, D: Deserializer<'de>>(d: D) -> Result<Millis, D::Error> {
    opt_ms(d)?.ok_or_else(|| de::Error::custom("timestamp missing or empty"))
}

/// `serde(deserialize_with)` with `#[serde(default)]`: `null`, `""` or missing → `None`.
pub fn opt_ms<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Millis>, D::Error> {
    let num = Num::deserialize(d)?;
    num.ms("timestamp").map_err(de::Error::custom)
}

fn float_to_int(v: f64) -> Option<i64> {
    #[expect(
        clippy::cast_possible_truncation,
        reason = "range and integrality are checked first"
    )]
    let ok = (v.is_finite() && v.fract() == 0.0 && v.abs() < 9.0e18).then_some(v as i64);
    ok
}

/// At most 40 characters of `s` for an error message, cut at a char boundary.
fn clip(s: &str) -> &str {
    s.char_indices()
        .nth(40)
        .map_or(s, |(i, _)| s.get(..i).unwrap_or(s))
}

impl<'de: 'a, 'a> Deserialize<'de> for Num<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NumVisitor(std::marker::PhantomData))
    }
}

struct NumVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for NumVisitor<'a> {
    type Value = Num<'a>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a number, a numeric string or null")
    }
    fn visit_i64<E>(self, v: i64) -> Result<Num<'a>, E> {
        Ok(Num::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Num<'a>, E> {
        Ok(Num::UInt(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Num<'a>, E> {
        Ok(Num::Float(v))
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Num<'a>, E> {
        Ok(Num::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Num<'a>, E> {
        Ok(Num::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_unit<E>(self) -> Result<Num<'a>, E> {
        Ok(Num::Null)
    }
    fn visit_none<E>(self) -> Result<Num<'a>, E> {
        Ok(Num::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Num<'a>, D::Error> {
        Num::deserialize(d)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Num<'a>, E> {
        Ok(Num::Bool(v))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Num<'a>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Num::Other("object"))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Num<'a>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Num::Other("array"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num(json: &str) -> Num<'_> {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn numbers_in_every_spelling() {
        assert_eq!(num("1.16539E8").f64("x").unwrap(), Some(116_539_000.0));
        assert_eq!(num("7.9276E-4").f64("x").unwrap(), Some(0.000_792_76));
        assert_eq!(num("0.00077720").f64("x").unwrap(), Some(0.000_777_2));
        assert_eq!(num(r#""250.00""#).f64("x").unwrap(), Some(250.0));
        assert_eq!(num(r#""1.5E-5""#).f64("x").unwrap(), Some(0.000_015));
        assert_eq!(num("-306").f64("x").unwrap(), Some(-306.0));
        let long = num("728107452.06423197609921044")
            .f64("x")
            .unwrap()
            .unwrap();
        assert!((long - 728_107_452.064_232).abs() < 1e-6);
    }

    #[test]
    fn empty_and_null_are_none_garbage_is_error() {
        assert_eq!(num(r#""""#).f64("x").unwrap(), None);
        assert_eq!(num("null").f64("x").unwrap(), None);
        assert!(num(r#""abc""#).f64("x").is_err());
        assert!(num(r#""NaN""#).f64("x").is_err());
        assert!(num(r#""inf""#).f64("x").is_err());
        assert!(num("true").f64("x").is_err());
        assert!(num(r#"{"a":[1,2]}"#).f64("x").is_err());
        assert!(required_f64("x", None).is_err());
        assert!(required_f64("x", Some(&num(r#""""#))).is_err());
        assert_eq!(optional_f64("x", None).unwrap(), None);
    }

    #[test]
    fn timestamps_from_numbers_and_strings() {
        assert_eq!(
            num("1693383665811").ms("t").unwrap(),
            Some(1_693_383_665_811)
        );
        assert_eq!(
            num(r#""1653812650349""#).ms("t").unwrap(),
            Some(1_653_812_650_349)
        );
        assert_eq!(
            num("1691530805062000").ms("t").unwrap(),
            Some(1_691_530_805_062)
        );
        assert_eq!(
            num("1.693383665811E12").ms("t").unwrap(),
            Some(1_693_383_665_811)
        );
        assert_eq!(num(r#""""#).ms("t").unwrap(), None);
        assert!(num("1.5").ms("t").is_err());
        assert!(num("18446744073709551615").ms("t").is_err());
    }

    #[test]
    fn borrows_from_the_frame() {
        let frame = String::from(r#""123.5""#);
        let n: Num<'_> = serde_json::from_str(&frame).unwrap();
        assert!(matches!(n, Num::Str(Cow::Borrowed("123.5"))));
    }

    #[test]
    fn serde_helpers() {
        #[derive(Deserialize)]
        struct Row {
            #[serde(deserialize_with = "f64")]
            price: f64,
            #[serde(default, deserialize_with = "opt_f64")]
            change: Option<f64>,
            #[serde(deserialize_with = "ms")]
            at: Millis,
            #[serde(default, deserialize_with = "opt_ms")]
            next: Option<Millis>,
        }
        let r: Row = serde_json::from_str(r#"{"price":"1384.20","change":"","at":"17"}"#).unwrap();
        assert_eq!((r.price, r.change, r.at, r.next), (1384.2, None, 17, None));
        assert!(serde_json::from_str::<Row>(r#"{"price":"","at":1}"#).is_err());
        assert!(serde_json::from_str::<Row>(r#"{"price":null,"at":1}"#).is_err());
        assert!(serde_json::from_str::<Row>(r#"{"price":1,"at":null}"#).is_err());
    }
}
