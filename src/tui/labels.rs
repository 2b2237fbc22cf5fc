//! Every word the dashboard shows, in Korean and English (`l` switches live), and the short names
//! of venues and feeds.

use crate::config::Language;
use crate::model::{LiqVenue, Venue};

/// The strings of one language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Labels {
    pub tether: &'static str,
    pub premium: &'static str,
    pub sort: &'static str,
    pub filter: &'static str,
    pub coin: &'static str,
    pub other_name: &'static str,
    pub usdt_premium: &'static str,
    pub change: &'static str,
    pub value: &'static str,
    pub flags: &'static str,
    pub no_global: &'static str,
    pub awaiting: &'static str,
    pub stale: &'static str,
    pub no_rows: &'static str,
    pub waiting: &'static str,
    pub liquidations: &'static str,
    pub last_ago: &'static str,
    pub never: &'static str,
    pub frozen: &'static str,
    pub liq_24h: &'static str,
    pub sampled: &'static str,
    pub partial: &'static str,
    pub hints: &'static str,
    pub help_title: &'static str,
    pub help_close: &'static str,
    pub venue: &'static str,
    pub price: &'static str,
    pub age: &'static str,
    pub collecting: &'static str,
    pub history_error: &'static str,
    pub percentile: &'static str,
    pub name_sort: &'static str,
    pub domestic_price: &'static str,
    pub global_price: &'static str,
    pub saved_failed: &'static str,
    pub fng: [&'static str; 5],
    pub flag_warning: &'static str,
    pub flag_caution: &'static str,
    pub flag_delisting: &'static str,
    pub flag_clash: &'static str,
    pub flag_suspect: &'static str,
}

const KO: Labels = Labels {
    tether: "테더",
    premium: "김프",
    sort: "정렬",
    filter: "필터",
    coin: "코인",
    other_name: "English",
    usdt_premium: "테더김프",
    change: "24h",
    value: "거래대금",
    flags: "표시",
    no_global: "해외없음",
    awaiting: "대기",
    stale: "지연",
    no_rows: "표시할 코인이 없습니다",
    waiting: "데이터 수신 대기 중…",
    liquidations: "청산",
    last_ago: "마지막",
    never: "없음",
    frozen: "정지",
    liq_24h: "24h 청산",
    sampled: "표본",
    partial: "일부",
    hints: "? 도움말  q 종료  / 필터  s 정렬  d/o 거래소  Tab 전환",
    help_title: "도움말 — 키",
    help_close: "Esc 또는 ? 로 닫기",
    venue: "거래소",
    price: "가격",
    age: "경과",
    collecting: "수집 중…",
    history_error: "기록을 읽지 못함",
    percentile: "백분위",
    name_sort: "이름",
    domestic_price: "국내가",
    global_price: "해외가",
    saved_failed: "즐겨찾기 저장 실패",
    fng: ["극단적 공포", "공포", "중립", "탐욕", "극단적 탐욕"],
    flag_warning: "유의",
    flag_caution: "주의",
    flag_delisting: "상폐",
    flag_clash: "충돌",
    flag_suspect: "의심",
};

const EN: Labels = Labels {
    tether: "tether",
    premium: "kimp",
    sort: "sort",
    filter: "filter",
    coin: "Coin",
    other_name: "한글",
    usdt_premium: "T-kimp",
    change: "24h",
    value: "Value",
    flags: "Flags",
    no_global: "no ref",
    awaiting: "wait",
    stale: "stale",
    no_rows: "no coins to show",
    waiting: "waiting for data…",
    liquidations: "LIQUIDATIONS",
    last_ago: "last",
    never: "none yet",
    frozen: "FROZEN",
    liq_24h: "24h liq",
    sampled: "sampled",
    partial: "partial",
    hints: "? help  q quit  / filter  s sort  d/o venues  Tab focus",
    help_title: "Help — keys",
    help_close: "Esc or ? closes",
    venue: "Venue",
    price: "Price",
    age: "Age",
    collecting: "collecting…",
    history_error: "history unavailable",
    percentile: "pct",
    name_sort: "name",
    domestic_price: "KRW price",
    global_price: "USD price",
    saved_failed: "favourites not saved",
    fng: ["Extreme Fear", "Fear", "Neutral", "Greed", "Extreme Greed"],
    flag_warning: "WARN",
    flag_caution: "CAUT",
    flag_delisting: "DLST",
    flag_clash: "CLSH",
    flag_suspect: "SUSP",
};

/// The labels of `lang`.
#[must_use]
pub fn labels(lang: Language) -> &'static Labels {
    match lang {
        Language::Ko => &KO,
        Language::En => &EN,
    }
}

/// `Upbit`, `Bithumb`, `Binance`, `Bybit`, `OKX`.
#[must_use]
pub fn venue_title(v: Venue) -> &'static str {
    match v {
        Venue::Upbit => "Upbit",
        Venue::Bithumb => "Bithumb",
        Venue::Binance => "Binance",
        Venue::Bybit => "Bybit",
        Venue::Okx => "OKX",
    }
}

/// Three-letter code of a liquidation venue: `BIN`, `BYB`, `OKX`, `BMX`.
#[must_use]
pub fn liq_code(v: LiqVenue) -> &'static str {
    match v {
        LiqVenue::Binance => "BIN",
        LiqVenue::Bybit => "BYB",
        LiqVenue::Okx => "OKX",
        LiqVenue::Bitmex => "BMX",
    }
}

/// Header label of a feed id's venue (`upbit.ticker` → `UPB`); `None` for feeds the header does
/// not show on their own (market lists, symbol tables: they do not carry prices).
#[must_use]
pub fn feed_label(feed: &str) -> Option<&'static str> {
    let (venue, stream) = feed.split_once('.').unwrap_or((feed, ""));
    if matches!(
        stream,
        "markets" | "symbols" | "instruments" | "liquidations"
    ) {
        return None;
    }
    Some(match venue {
        "upbit" => "UPB",
        "bithumb" => "BTH",
        "binance" => "BIN",
        "bybit" => "BYB",
        "okx" => "OKX",
        "fx" => "FX",
        "fear_greed" => "F&G",
        "bitmex" => "BMX",
        // `remote.link`: the link to the server with `--remote`.
        "remote" => "SRV",
        _ => return None,
    })
}

/// Index into [`Labels::fng`] of a fear & greed value (alternative.me's bands).
#[must_use]
pub fn fng_band(value: u8) -> usize {
    match value {
        0..=24 => 0,
        25..=44 => 1,
        45..=55 => 2,
        56..=75 => 3,
        _ => 4,
    }
}

/// Short label of a coin flag, `None` for flags shown elsewhere (no global market, waiting).
#[must_use]
pub fn flag_label(l: &Labels, flag: &str) -> Option<&'static str> {
    let kind = flag.split_once(':').map_or(flag, |(k, _)| k);
    Some(match kind {
        "warning" => l.flag_warning,
        "caution" => l.flag_caution,
        "delisting" => l.flag_delisting,
        "ticker_clash" => l.flag_clash,
        "suspect" => l.flag_suspect,
        _ => return None,
    })
}
