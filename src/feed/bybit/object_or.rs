//! [`ObjectOr`]: a JSON value read as `T` when it is an object and skipped otherwise.
//!
//! Bybit's `data` is an object on `tickers.*` but an array on `allLiquidation.*` and
//! `publicTrade.*`; OKX's `data` rows are objects on `tickers` but arrays on the candle channels. A
//! derived struct would read an array positionally (or fail), and the frame's `topic`/`arg` may come
//! after `data` (`ws-liquidation-deprecated-topic-recorded.jsonl`), so the parser cannot look first.
//! This reads the object in the same pass, without `serde_json::Value`, and skips anything else.

use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// `T` when the value was an object; `Other` for arrays, strings, numbers, bools and `null`.
#[derive(Debug)]
pub(crate) enum ObjectOr<T> {
    Object(T),
    Other,
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for ObjectOr<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ObjectOrVisitor(PhantomData))
    }
}

struct ObjectOrVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectOrVisitor<T> {
    type Value = ObjectOr<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        T::deserialize(de::value::MapAccessDeserializer::new(map)).map(ObjectOr::Object)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(ObjectOr::Other)
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(ObjectOr::Other)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(ObjectOr::Other)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(ObjectOr::Other)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(ObjectOr::Other)
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(ObjectOr::Other)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(ObjectOr::Other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Row<'a> {
        #[serde(borrow)]
        a: Option<&'a str>,
    }

    #[test]
    fn objects_are_read_everything_else_skipped() {
        let rows: Vec<ObjectOr<Row<'_>>> =
            serde_json::from_str(r#"[{"a":"x","b":[1,{"c":2}]},["a","y"],"s",1,-1,1.5,true,null]"#)
                .unwrap();
        assert!(matches!(
            rows.first(),
            Some(ObjectOr::Object(Row { a: Some("x") }))
        ));
        assert_eq!(
            rows.iter().filter(|r| matches!(r, ObjectOr::Other)).count(),
            7
        );
    }
}
