//! Ticker → coin: the only place that decides whether two venues' tickers are the same coin
//! (SPEC §4, exchanges.md §13). Everything else asks here.

use std::collections::{HashMap, HashSet};

use crate::config::SymbolsConfig;
use crate::model::Venue;

/// How a venue's base asset maps to a coin row.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    /// The coin (row) this ticker belongs to.
    pub coin: String,
    /// Units of the coin in one unit of the ticker (`1000PEPE` → 1000): divide prices by it.
    pub multiplier: f64,
}

/// The alias and clash tables from `[symbols]`.
#[derive(Debug, Clone, Default)]
pub struct Symbols {
    no_global: HashSet<String>,
    aliases: HashMap<String, (String, f64)>,
}

impl Symbols {
    #[must_use]
    pub fn from_config(cfg: &SymbolsConfig) -> Self {
        Symbols {
            no_global: cfg
                .no_global
                .iter()
                .map(|s| s.to_ascii_uppercase())
                .collect(),
            aliases: cfg
                .aliases
                .iter()
                .map(|(k, a)| {
                    (
                        k.to_ascii_uppercase(),
                        (a.coin.to_ascii_uppercase(), a.multiplier),
                    )
                })
                .collect(),
        }
    }

    /// Which coin a venue's base asset is. `None`: a global ticker that clashes with a different
    /// domestic coin of the same name — it must never be compared.
    #[must_use]
    pub fn resolve(&self, venue: Venue, base: &str) -> Option<Resolved> {
        if venue.is_domestic() {
            return Some(Resolved {
                coin: base.to_string(),
                multiplier: 1.0,
            });
        }
        if self.no_global.contains(base) {
            return None;
        }
        if let Some((coin, multiplier)) = self.aliases.get(base) {
            return Some(Resolved {
                coin: coin.clone(),
                multiplier: *multiplier,
            });
        }
        Some(Resolved {
            coin: base.to_string(),
            multiplier: 1.0,
        })
    }

    /// Whether the domestic coin is known to clash with a different global coin of the same ticker.
    #[must_use]
    pub fn is_clash(&self, coin: &str) -> bool {
        self.no_global.contains(coin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_and_clashes() {
        let s = Symbols::from_config(&SymbolsConfig::default());
        let pepe = s.resolve(Venue::Binance, "1000PEPE").expect("alias");
        assert_eq!(
            pepe,
            Resolved {
                coin: "PEPE".into(),
                multiplier: 1000.0
            }
        );
        assert_eq!(s.resolve(Venue::Binance, "TON"), None);
        assert!(s.is_clash("TON"));
        assert_eq!(
            s.resolve(Venue::Upbit, "TON").map(|r| r.coin),
            Some("TON".into())
        );
        assert_eq!(
            s.resolve(Venue::Binance, "BTC").map(|r| r.multiplier),
            Some(1.0)
        );
    }
}
