//! The simulated coin universe: names, 2026 price levels, volatility and traded value per venue.
//!
//! Levels are realistic for late 2026 so that a demo reads like the real dashboard (BTC around
//! 101,000 USDT, Upbit BTC around 1e11–1e12 KRW a day). `MED` and `MLK` trade only on Upbit (no
//! global reference, like the real venue's many KRW-only listings); `BNB` trades only on Binance.

/// One coin and how it trades.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CoinSpec {
    /// Base asset ticker (`BTC`).
    pub symbol: &'static str,
    /// Upbit's Korean name (`비트코인`).
    pub name_ko: &'static str,
    /// Upbit's English name (`Bitcoin`).
    pub name_en: &'static str,
    /// Typical price in USD; the model starts near it and reverts to it slowly.
    pub usd: f64,
    /// Typical daily volatility as a fraction (0.025 = 2.5 %).
    pub daily_vol: f64,
    /// Typical Upbit 24 h traded value in KRW; 0 = not listed on Upbit.
    pub upbit_krw_24h: f64,
    /// Typical Binance 24 h quote volume in USDT; 0 = not listed on Binance.
    pub binance_usdt_24h: f64,
}

impl CoinSpec {
    /// Listed on Upbit KRW.
    #[must_use]
    pub fn on_upbit(&self) -> bool {
        self.upbit_krw_24h > 0.0
    }

    /// Listed on Binance USDT.
    #[must_use]
    pub fn on_binance(&self) -> bool {
        self.binance_usdt_24h > 0.0
    }
}

/// Upbit marks this coin `caution.GLOBAL_PRICE_DIFFERENCES` (its premium runs a few % above the rest).
pub const GLOBAL_PRICE_DIFFERENCES_COIN: &str = "AXS";
/// Extra premium of [`GLOBAL_PRICE_DIFFERENCES_COIN`] over the market-wide premium.
pub const GLOBAL_PRICE_DIFFERENCES_EXTRA: f64 = 0.05;
/// Upbit marks this coin `warning` (유의종목).
pub const WARNING_COIN: &str = "MLK";

const fn coin(
    symbol: &'static str,
    name_ko: &'static str,
    name_en: &'static str,
    usd: f64,
    daily_vol: f64,
    upbit_krw_24h: f64,
    binance_usdt_24h: f64,
) -> CoinSpec {
    CoinSpec {
        symbol,
        name_ko,
        name_en,
        usd,
        daily_vol,
        upbit_krw_24h,
        binance_usdt_24h,
    }
}

/// Every simulated coin. BTC must stay first: cross pairs are priced against it.
pub const COINS: &[CoinSpec] = &[
    coin(
        "BTC",
        "비트코인",
        "Bitcoin",
        101_000.0,
        0.025,
        3.0e11,
        2.2e9,
    ),
    coin("ETH", "이더리움", "Ethereum", 3_400.0, 0.035, 1.6e11, 1.3e9),
    coin("XRP", "리플", "XRP", 2.3, 0.045, 3.5e11, 4.0e8),
    coin("SOL", "솔라나", "Solana", 180.0, 0.045, 6.0e10, 6.0e8),
    coin("DOGE", "도지코인", "Dogecoin", 0.17, 0.055, 6.5e10, 3.0e8),
    coin("ADA", "에이다", "Cardano", 0.55, 0.05, 2.5e10, 1.0e8),
    coin("TRX", "트론", "TRON", 0.28, 0.025, 8.0e9, 6.0e7),
    coin("LINK", "체인링크", "Chainlink", 15.0, 0.05, 1.2e10, 8.0e7),
    coin("AVAX", "아발란체", "Avalanche", 18.0, 0.055, 8.0e9, 6.0e7),
    coin("DOT", "폴카닷", "Polkadot", 3.2, 0.05, 5.0e9, 4.0e7),
    coin(
        "BCH",
        "비트코인캐시",
        "Bitcoin Cash",
        480.0,
        0.04,
        6.0e9,
        5.0e7,
    ),
    coin(
        "ETC",
        "이더리움클래식",
        "Ethereum Classic",
        14.0,
        0.045,
        4.0e9,
        3.0e7,
    ),
    coin("SUI", "수이", "Sui", 2.5, 0.06, 2.5e10, 2.0e8),
    coin("APT", "앱토스", "Aptos", 4.5, 0.055, 4.0e9, 3.0e7),
    coin(
        "NEAR",
        "니어프로토콜",
        "NEAR Protocol",
        2.3,
        0.055,
        5.0e9,
        4.0e7,
    ),
    coin("ARB", "아비트럼", "Arbitrum", 0.3, 0.06, 3.0e9, 3.5e7),
    coin("OP", "옵티미즘", "Optimism", 0.45, 0.06, 2.5e9, 2.5e7),
    coin("SEI", "세이", "Sei", 0.2, 0.065, 3.5e9, 2.0e7),
    coin("HBAR", "헤데라", "Hedera", 0.17, 0.055, 6.0e9, 3.0e7),
    coin(
        "XLM",
        "스텔라루멘",
        "Stellar Lumens",
        0.27,
        0.045,
        7.0e9,
        2.5e7,
    ),
    coin("SAND", "샌드박스", "The Sandbox", 0.18, 0.06, 3.0e9, 1.5e7),
    coin(
        "MANA",
        "디센트럴랜드",
        "Decentraland",
        0.2,
        0.06,
        2.0e9,
        1.2e7,
    ),
    coin(
        "AXS",
        "엑시인피니티",
        "Axie Infinity",
        1.1,
        0.065,
        1.5e9,
        1.0e7,
    ),
    coin("AAVE", "에이브", "Aave", 220.0, 0.055, 4.0e9, 6.0e7),
    coin("UNI", "유니스왑", "Uniswap", 6.5, 0.055, 3.0e9, 4.0e7),
    coin("ATOM", "코스모스", "Cosmos", 3.3, 0.05, 2.5e9, 2.5e7),
    coin("STX", "스택스", "Stacks", 0.45, 0.06, 2.0e9, 1.0e7),
    coin(
        "IMX",
        "이뮤터블엑스",
        "Immutable X",
        0.4,
        0.065,
        1.5e9,
        1.0e7,
    ),
    coin("PEPE", "페페", "Pepe", 0.000_006_2, 0.08, 1.5e10, 1.5e8),
    coin(
        "SHIB",
        "시바이누",
        "Shiba Inu",
        0.000_009_5,
        0.06,
        5.0e9,
        4.0e7,
    ),
    coin("WLD", "월드코인", "Worldcoin", 0.7, 0.07, 4.0e9, 6.0e7),
    coin("ENA", "에테나", "Ethena", 0.3, 0.08, 6.0e9, 8.0e7),
    coin(
        "ONDO",
        "온도파이낸스",
        "Ondo Finance",
        0.55,
        0.07,
        4.0e9,
        3.0e7,
    ),
    coin("ALGO", "알고랜드", "Algorand", 0.15, 0.055, 2.5e9, 1.5e7),
    coin(
        "POL",
        "폴리곤 에코시스템 토큰",
        "Polygon Ecosystem Token",
        0.16,
        0.06,
        2.0e9,
        1.2e7,
    ),
    coin("MED", "메디블록", "Medibloc", 0.0045, 0.05, 1.2e9, 0.0),
    coin("MLK", "밀크", "MiL.k", 0.11, 0.05, 8.0e8, 0.0),
    coin("BNB", "비앤비", "BNB", 900.0, 0.03, 0.0, 9.0e8),
];

/// Upbit's names for its `KRW-USDT` market (the USDT/KRW rate, not a coin row).
pub const USDT_NAMES: (&str, &str) = ("테더", "Tether");

/// Upbit cross markets (`QUOTE-BASE`) that clients must filter out of the KRW universe.
pub const UPBIT_CROSS: &[(&str, &str)] = &[
    ("BTC", "ETH"),
    ("BTC", "XRP"),
    ("BTC", "SOL"),
    ("USDT", "BTC"),
    ("USDT", "ETH"),
];

/// Binance non-USDT symbols (`BASE`, `QUOTE`): the real all-market stream carries them too.
pub const BINANCE_CROSS: &[(&str, &str)] = &[
    ("ETH", "BTC"),
    ("BNB", "BTC"),
    ("SOL", "BTC"),
    ("XRP", "BTC"),
    ("BTC", "FDUSD"),
    ("ETH", "FDUSD"),
];

/// Index of `symbol` in [`COINS`].
#[must_use]
pub fn index_of(symbol: &str) -> Option<usize> {
    COINS.iter().position(|c| c.symbol == symbol)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        for (a, b) in UPBIT_CROSS.iter().chain(BINANCE_CROSS) {
            assert!(index_of(a).is_some() || *a == "USDT", "{a}");
            assert!(index_of(b).is_some() || *b == "FDUSD", "{b}");
        }
        let mut symbols: Vec<_> = COINS.iter().map(|c| c.symbol).collect();
        symbols.sort_unstable();
        symbols.dedup();
        assert_eq!(symbols.len(), COINS.len(), "duplicate symbol");
    }
}
