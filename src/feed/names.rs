//! Bundled Korean and English coin names (`assets/coin-names.json`), the last fallback of
//! exchanges.md §10: names come from Upbit's market list first, then Bithumb's, and from here only
//! when neither list names the coin (both venues down at start, or a coin neither lists).
//!
//! The file is a JSON array `[{"symbol":"BTC","ko":"비트코인","en":"Bitcoin"},…]` (an array, so a
//! duplicate symbol is detectable), embedded at build time and parsed once on first use.

use std::collections::HashMap;
use std::sync::LazyLock;

use serde::Deserialize;

/// The embedded file.
pub const SOURCE: &str = include_str!("../../assets/coin-names.json");

/// A coin's display names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoinName {
    pub ko: String,
    pub en: String,
}

/// Why the names file is unusable.
#[derive(Debug, thiserror::Error)]
pub enum NamesError {
    #[error("invalid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("symbol `{0}` listed twice")]
    Duplicate(String),
    #[error("symbol `{0}` is not upper-case letters and digits")]
    BadSymbol(String),
    #[error("symbol `{0}` lacks a Korean or an English name")]
    MissingName(String),
}

/// One entry of the file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BundledName {
    symbol: String,
    ko: String,
    en: String,
}

static BUNDLED: LazyLock<HashMap<String, CoinName>> = LazyLock::new(|| {
    parse(SOURCE).unwrap_or_else(|error| {
        // Unreachable with the shipped file (a test parses it); never worth a panic.
        tracing::error!(%error, "bundled coin names unusable");
        HashMap::new()
    })
});

/// Parses and checks a names file: every symbol upper-case ASCII letters/digits and listed once,
/// every entry with non-blank Korean and English names.
pub fn parse(json: &str) -> Result<HashMap<String, CoinName>, NamesError> {
    let entries: Vec<BundledName> = serde_json::from_str(json)?;
    let mut names = HashMap::with_capacity(entries.len());
    for BundledName { symbol, ko, en } in entries {
        let valid = !symbol.is_empty()
            && symbol
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        if !valid {
            return Err(NamesError::BadSymbol(symbol));
        }
        if ko.trim().is_empty() || en.trim().is_empty() {
            return Err(NamesError::MissingName(symbol));
        }
        if names.contains_key(&symbol) {
            return Err(NamesError::Duplicate(symbol));
        }
        names.insert(symbol, CoinName { ko, en });
    }
    Ok(names)
}

/// Every bundled name, by symbol (`BTC`).
#[must_use]
pub fn bundled() -> &'static HashMap<String, CoinName> {
    &BUNDLED
}

/// The bundled names of one coin (kimp's coin symbol, as the state keys rows).
#[must_use]
pub fn lookup(symbol: &str) -> Option<&'static CoinName> {
    BUNDLED.get(symbol)
}

/// Fills whichever of `(ko, en)` the venue lists left empty from the bundled file.
#[must_use]
pub fn or_bundled(
    symbol: &str,
    (ko, en): (Option<String>, Option<String>),
) -> (Option<String>, Option<String>) {
    if ko.is_some() && en.is_some() {
        return (ko, en);
    }
    let bundled = lookup(symbol);
    (
        ko.or_else(|| bundled.map(|n| n.ko.clone())),
        en.or_else(|| bundled.map(|n| n.en.clone())),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_file_parses_with_both_names_and_no_duplicates() {
        let names = parse(SOURCE).unwrap();
        let entries = SOURCE.matches("\"symbol\"").count();
        assert!(entries >= 60, "{entries} entries");
        assert_eq!(names.len(), entries, "a symbol is listed twice");
        assert!(
            names
                .values()
                .all(|n| !n.ko.trim().is_empty() && !n.en.trim().is_empty())
        );
        assert_eq!(bundled().len(), entries);
        let btc = lookup("BTC").unwrap();
        assert_eq!((btc.ko.as_str(), btc.en.as_str()), ("비트코인", "Bitcoin"));
        assert_eq!(lookup("USDT").unwrap().ko, "테더");
        assert_eq!(lookup("NOSUCHCOIN"), None);
    }

    #[test]
    fn checks_reject_broken_files() {
        let dup = r#"[{"symbol":"A","ko":"에이","en":"A"},{"symbol":"A","ko":"에이","en":"A"}]"#;
        assert!(matches!(parse(dup), Err(NamesError::Duplicate(s)) if s == "A"));
        let blank = r#"[{"symbol":"A","ko":" ","en":"A"}]"#;
        assert!(matches!(parse(blank), Err(NamesError::MissingName(_))));
        let missing = r#"[{"symbol":"A","en":"A"}]"#;
        assert!(matches!(parse(missing), Err(NamesError::Json(_))));
        let lower = r#"[{"symbol":"btc","ko":"비트코인","en":"Bitcoin"}]"#;
        assert!(matches!(parse(lower), Err(NamesError::BadSymbol(_))));
    }

    #[test]
    fn venue_names_win_and_gaps_are_filled() {
        let venue = (Some("비트코인(빗썸)".to_owned()), None);
        assert_eq!(
            or_bundled("BTC", venue),
            (
                Some("비트코인(빗썸)".to_owned()),
                Some("Bitcoin".to_owned())
            )
        );
        assert_eq!(or_bundled("NOSUCHCOIN", (None, None)), (None, None));
    }
}
