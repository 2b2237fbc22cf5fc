//! The simulated coin universe: names, 2026 price levels, volatility, traded value and venues.
//!
//! Levels are realistic for late 2026 so that a demo reads like the real dashboard (BTC around
//! 101,000 USDT, Upbit BTC around 1e11–1e12 KRW a day). Each venue lists a slightly different set,
//! as the real ones do:
//!
//! | venue | lists | but not | only here |
//! |---|---|---|---|
//! | Upbit KRW | the 35 shared coins, `MED`, `MLK` | `BNB` and the venue-only coins | — |
//! | Bithumb KRW | Upbit's list | `SEI` | `ALT` (`ArchLoot`), `ACS`, `MNT` |
//! | Binance USDT | the shared coins, `BNB`, `ALT` (`AltLayer`) | `MED`, `MLK` | — |
//! | Bybit USDT | Binance's list, `MNT`, `APEX` | `STX` | `APEX` |
//! | OKX USDT | Binance's list, `MNT`, `OKB` | `HBAR` | `OKB` |
//!
//! `ALT` is two different coins, as in reality (`exchanges.md` §13): Bithumb's `KRW-ALT` is
//! `ArchLoot` (아치루트), the global `ALT` is `AltLayer`, at a very different price. A client that
//! pairs them by ticker alone computes a nonsense premium.

/// Venue bits of [`CoinSpec::venues`].
pub mod venue {
    pub const UPBIT: u8 = 1;
    pub const BITHUMB: u8 = 2;
    pub const BINANCE: u8 = 4;
    pub const BYBIT: u8 = 8;
    pub const OKX: u8 = 16;
    /// Every simulated venue.
    pub const ALL: u8 = UPBIT | BITHUMB | BINANCE | BYBIT | OKX;
    /// Both Korean venues.
    pub const KRW: u8 = UPBIT | BITHUMB;
    /// The three global venues.
    pub const GLOBAL: u8 = BINANCE | BYBIT | OKX;
}

use venue::{ALL, BINANCE, BITHUMB, BYBIT, GLOBAL, KRW, OKX, UPBIT};

/// Share of the Upbit traded value a coin does on Bithumb.
pub const BITHUMB_SHARE: f64 = 0.35;
/// Share of the Binance quote volume a coin does on Bybit.
pub const BYBIT_SHARE: f64 = 0.3;
/// Share of the Binance quote volume a coin does on OKX.
pub const OKX_SHARE: f64 = 0.25;

/// One coin and how it trades.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CoinSpec {
    /// Base asset ticker (`BTC`) as the venues list it.
    pub symbol: &'static str,
    /// Korean name (`비트코인`).
    pub name_ko: &'static str,
    /// English name (`Bitcoin`).
    pub name_en: &'static str,
    /// Typical price in USD; the model starts near it and reverts to it slowly.
    pub usd: f64,
    /// Typical daily volatility as a fraction (0.025 = 2.5 %).
    pub daily_vol: f64,
    /// Typical 24 h traded value in KRW on the leading Korean venue (Upbit; Bithumb does
    /// [`BITHUMB_SHARE`] of it).
    pub krw_24h: f64,
    /// Typical 24 h quote volume in USDT on the leading global venue (Binance; Bybit and OKX do
    /// [`BYBIT_SHARE`] and [`OKX_SHARE`] of it).
    pub usdt_24h: f64,
    /// Venues that list it ([`venue`] bits).
    pub venues: u8,
}

impl CoinSpec {
    /// Listed on Upbit KRW.
    #[must_use]
    pub fn on_upbit(&self) -> bool {
        self.venues & UPBIT != 0
    }

    /// Listed on Bithumb KRW.
    #[must_use]
    pub fn on_bithumb(&self) -> bool {
        self.venues & BITHUMB != 0
    }

    /// Listed on Binance USDT.
    #[must_use]
    pub fn on_binance(&self) -> bool {
        self.venues & BINANCE != 0
    }

    /// Listed on Bybit spot USDT.
    #[must_use]
    pub fn on_bybit(&self) -> bool {
        self.venues & BYBIT != 0
    }

    /// Listed on OKX spot USDT.
    #[must_use]
    pub fn on_okx(&self) -> bool {
        self.venues & OKX != 0
    }
}

/// Upbit marks this coin `caution.GLOBAL_PRICE_DIFFERENCES` and Bithumb lists it under
/// `PRICE_DIFFERENCE_HIGH` (its premium runs a few % above the rest on both).
pub const GLOBAL_PRICE_DIFFERENCES_COIN: &str = "AXS";
/// Extra premium of [`GLOBAL_PRICE_DIFFERENCES_COIN`] over the market-wide premium.
pub const GLOBAL_PRICE_DIFFERENCES_EXTRA: f64 = 0.05;
/// Upbit marks this coin `warning` (유의종목); Bithumb gives it `market_warning: CAUTION` and two
/// `virtual_asset_warning` rows (the same market listed twice).
pub const WARNING_COIN: &str = "MLK";

const fn coin(
    (symbol, name_ko, name_en): (&'static str, &'static str, &'static str),
    usd: f64,
    daily_vol: f64,
    krw_24h: f64,
    usdt_24h: f64,
    venues: u8,
) -> CoinSpec {
    CoinSpec {
        symbol,
        name_ko,
        name_en,
        usd,
        daily_vol,
        krw_24h,
        usdt_24h,
        venues,
    }
}

/// Every simulated coin. BTC must stay first: cross pairs are priced against it.
#[rustfmt::skip]
pub const COINS: &[CoinSpec] = &[
    coin(("BTC", "비트코인", "Bitcoin"), 101_000.0, 0.025, 3.0e11, 2.2e9, ALL),
    coin(("ETH", "이더리움", "Ethereum"), 3_400.0, 0.035, 1.6e11, 1.3e9, ALL),
    coin(("XRP", "리플", "XRP"), 2.3, 0.045, 3.5e11, 4.0e8, ALL),
    coin(("SOL", "솔라나", "Solana"), 180.0, 0.045, 6.0e10, 6.0e8, ALL),
    coin(("DOGE", "도지코인", "Dogecoin"), 0.17, 0.055, 6.5e10, 3.0e8, ALL),
    coin(("ADA", "에이다", "Cardano"), 0.55, 0.05, 2.5e10, 1.0e8, ALL),
    coin(("TRX", "트론", "TRON"), 0.28, 0.025, 8.0e9, 6.0e7, ALL),
    coin(("LINK", "체인링크", "Chainlink"), 15.0, 0.05, 1.2e10, 8.0e7, ALL),
    coin(("AVAX", "아발란체", "Avalanche"), 18.0, 0.055, 8.0e9, 6.0e7, ALL),
    coin(("DOT", "폴카닷", "Polkadot"), 3.2, 0.05, 5.0e9, 4.0e7, ALL),
    coin(("BCH", "비트코인캐시", "Bitcoin Cash"), 480.0, 0.04, 6.0e9, 5.0e7, ALL),
    coin(("ETC", "이더리움클래식", "Ethereum Classic"), 14.0, 0.045, 4.0e9, 3.0e7, ALL),
    coin(("SUI", "수이", "Sui"), 2.5, 0.06, 2.5e10, 2.0e8, ALL),
    coin(("APT", "앱토스", "Aptos"), 4.5, 0.055, 4.0e9, 3.0e7, ALL),
    coin(("NEAR", "니어프로토콜", "NEAR Protocol"), 2.3, 0.055, 5.0e9, 4.0e7, ALL),
    coin(("ARB", "아비트럼", "Arbitrum"), 0.3, 0.06, 3.0e9, 3.5e7, ALL),
    coin(("OP", "옵티미즘", "Optimism"), 0.45, 0.06, 2.5e9, 2.5e7, ALL),
    coin(("SEI", "세이", "Sei"), 0.2, 0.065, 3.5e9, 2.0e7, ALL & !BITHUMB),
    coin(("HBAR", "헤데라", "Hedera"), 0.17, 0.055, 6.0e9, 3.0e7, ALL & !OKX),
    coin(("XLM", "스텔라루멘", "Stellar Lumens"), 0.27, 0.045, 7.0e9, 2.5e7, ALL),
    coin(("SAND", "샌드박스", "The Sandbox"), 0.18, 0.06, 3.0e9, 1.5e7, ALL),
    coin(("MANA", "디센트럴랜드", "Decentraland"), 0.2, 0.06, 2.0e9, 1.2e7, ALL),
    coin(("AXS", "엑시인피니티", "Axie Infinity"), 1.1, 0.065, 1.5e9, 1.0e7, ALL),
    coin(("AAVE", "에이브", "Aave"), 220.0, 0.055, 4.0e9, 6.0e7, ALL),
    coin(("UNI", "유니스왑", "Uniswap"), 6.5, 0.055, 3.0e9, 4.0e7, ALL),
    coin(("ATOM", "코스모스", "Cosmos"), 3.3, 0.05, 2.5e9, 2.5e7, ALL),
    coin(("STX", "스택스", "Stacks"), 0.45, 0.06, 2.0e9, 1.0e7, ALL & !BYBIT),
    coin(("IMX", "이뮤터블엑스", "Immutable X"), 0.4, 0.065, 1.5e9, 1.0e7, ALL),
    coin(("PEPE", "페페", "Pepe"), 0.000_006_2, 0.08, 1.5e10, 1.5e8, ALL),
    coin(("SHIB", "시바이누", "Shiba Inu"), 0.000_009_5, 0.06, 5.0e9, 4.0e7, ALL),
    coin(("WLD", "월드코인", "Worldcoin"), 0.7, 0.07, 4.0e9, 6.0e7, ALL),
    coin(("ENA", "에테나", "Ethena"), 0.3, 0.08, 6.0e9, 8.0e7, ALL),
    coin(("ONDO", "온도파이낸스", "Ondo Finance"), 0.55, 0.07, 4.0e9, 3.0e7, ALL),
    coin(("ALGO", "알고랜드", "Algorand"), 0.15, 0.055, 2.5e9, 1.5e7, ALL),
    coin(("POL", "폴리곤 에코시스템 토큰", "Polygon Ecosystem Token"), 0.16, 0.06, 2.0e9, 1.2e7, ALL),
    coin(("MED", "메디블록", "Medibloc"), 0.0045, 0.05, 1.2e9, 0.0, KRW),
    coin(("MLK", "밀크", "MiL.k"), 0.11, 0.05, 8.0e8, 0.0, KRW),
    coin(("BNB", "비앤비", "BNB"), 900.0, 0.03, 0.0, 9.0e8, GLOBAL),
    coin(("ALT", "알트레이어", "AltLayer"), 0.032, 0.07, 0.0, 2.0e7, GLOBAL),
    coin(("ALT", "아치루트", "ArchLoot"), 0.014, 0.08, 1.5e9, 0.0, BITHUMB),
    coin(("ACS", "액세스프로토콜", "Access Protocol"), 0.0011, 0.07, 1.0e9, 0.0, BITHUMB),
    coin(("MNT", "맨틀", "Mantle"), 1.1, 0.05, 6.0e9, 5.0e7, BITHUMB | BYBIT | OKX),
    coin(("APEX", "에이펙스프로토콜", "ApeX Protocol"), 0.9, 0.07, 0.0, 1.0e7, BYBIT),
    coin(("OKB", "오케이비", "OKB"), 48.0, 0.04, 0.0, 3.0e7, OKX),
];

/// Upbit's names for its `KRW-USDT` market (the USDT/KRW rate, not a coin row); Bithumb's too.
pub const USDT_NAMES: (&str, &str) = ("테더", "Tether");

/// Upbit cross markets (`QUOTE-BASE`) that clients must filter out of the KRW universe.
pub const UPBIT_CROSS: &[(&str, &str)] = &[
    ("BTC", "ETH"),
    ("BTC", "XRP"),
    ("BTC", "SOL"),
    ("USDT", "BTC"),
    ("USDT", "ETH"),
];

/// Bithumb's BTC markets (`QUOTE-BASE`).
pub const BITHUMB_CROSS: &[(&str, &str)] = &[("BTC", "ETH"), ("BTC", "XRP")];

/// Binance non-USDT symbols (`BASE`, `QUOTE`): the real all-market stream carries them too.
pub const BINANCE_CROSS: &[(&str, &str)] = &[
    ("ETH", "BTC"),
    ("BNB", "BTC"),
    ("SOL", "BTC"),
    ("XRP", "BTC"),
    ("BTC", "FDUSD"),
    ("ETH", "FDUSD"),
];

/// Bybit and OKX non-USDT spot pairs (`BASE`, `QUOTE`), in both venues' market lists.
pub const BYBIT_OKX_CROSS: &[(&str, &str)] = &[("BTC", "USDC"), ("ETH", "USDC"), ("ETH", "BTC")];

/// Index in [`COINS`] of `symbol` as `venue` lists it (`ALT` is two different coins).
#[must_use]
pub fn index_on(symbol: &str, venue: u8) -> Option<usize> {
    COINS
        .iter()
        .position(|c| c.symbol == symbol && c.venues & venue != 0)
}

/// Index of `symbol` in [`COINS`] (the first coin of that ticker).
#[must_use]
pub fn index_of(symbol: &str) -> Option<usize> {
    COINS.iter().position(|c| c.symbol == symbol)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(venue: u8) -> Vec<&'static str> {
        COINS
            .iter()
            .filter(|c| c.venues & venue != 0)
            .map(|c| c.symbol)
            .collect()
    }

    #[test]
    fn universe_matches_the_brief() {
        assert_eq!(COINS[0].symbol, "BTC");
        let both = COINS
            .iter()
            .filter(|c| c.on_upbit() && c.on_binance())
            .count();
        assert!(both >= 35, "{both} coins on both venues");
        let upbit_only: Vec<_> = COINS
            .iter()
            .filter(|c| c.on_upbit() && !c.on_binance())
            .map(|c| c.symbol)
            .collect();
        assert_eq!(upbit_only, ["MED", "MLK"]);
        assert!(index_of(GLOBAL_PRICE_DIFFERENCES_COIN).is_some());
        assert!(index_of(WARNING_COIN).is_some());
        for (a, b) in UPBIT_CROSS
            .iter()
            .chain(BINANCE_CROSS)
            .chain(BITHUMB_CROSS)
            .chain(BYBIT_OKX_CROSS)
        {
            assert!(index_of(a).is_some() || *a == "USDT", "{a}");
            assert!(
                index_of(b).is_some() || ["FDUSD", "USDC"].contains(b),
                "{b}"
            );
        }
        for venue in [UPBIT, BITHUMB, BINANCE, BYBIT, OKX] {
            let mut symbols = listed(venue);
            let n = symbols.len();
            symbols.sort_unstable();
            symbols.dedup();
            assert_eq!(symbols.len(), n, "duplicate symbol on venue {venue}");
        }
    }

    #[test]
    fn each_venue_differs_a_little_from_its_leader() {
        let diff = |a: u8, b: u8| -> (Vec<&str>, Vec<&str>) {
            let (la, lb) = (listed(a), listed(b));
            (
                la.iter().filter(|s| !lb.contains(s)).copied().collect(),
                lb.iter().filter(|s| !la.contains(s)).copied().collect(),
            )
        };
        assert_eq!(
            diff(UPBIT, BITHUMB),
            (vec!["SEI"], vec!["ALT", "ACS", "MNT"])
        );
        assert_eq!(diff(BINANCE, BYBIT), (vec!["STX"], vec!["MNT", "APEX"]));
        assert_eq!(diff(BINANCE, OKX), (vec!["HBAR"], vec!["MNT", "OKB"]));
        let archloot = index_on("ALT", BITHUMB).unwrap();
        let altlayer = index_on("ALT", BINANCE).unwrap();
        assert_ne!(archloot, altlayer);
        assert_eq!(COINS[archloot].name_en, "ArchLoot");
        assert_eq!(COINS[altlayer].name_en, "AltLayer");
    }
}
