//! The plain-text premium table of `kimp snapshot`: aligned in terminal cells (Korean names are two
//! cells per syllable), numbers grouped, traded value in 억/조. The number formats are shared with
//! the dashboard and live in [`crate::tui::text`].

use std::fmt::Write as _;

use unicode_width::UnicodeWidthStr;

use crate::model::Venue;
use crate::state::snapshot::{CoinRow, Snapshot};
use crate::tui::labels::venue_title as title;
use crate::tui::text::{age, eok_jo, group, krw, percent, usd};

/// Renders the whole snapshot as text: a header with rates and feed health, then one row per coin.
#[must_use]
pub fn render(snap: &Snapshot) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", header(snap));
    let _ = writeln!(out, "{}", feeds_line(snap));
    let (dom, glob) = (snap.pair.domestic, snap.pair.global);
    let titles = [
        "#".to_string(),
        "coin".into(),
        "name".into(),
        format!("{} ₩", title(dom)),
        format!("{} $", title(glob)),
        "→₩".into(),
        "김프".into(),
        "테더김프".into(),
        "24h".into(),
        "거래대금".into(),
    ];
    let mut rows = vec![titles.to_vec()];
    for (i, c) in snap.coins.iter().enumerate() {
        rows.push(row(i + 1, c, dom, glob));
    }
    let widths: Vec<usize> = (0..titles.len())
        .map(|col| rows.iter().map(|r| r[col].width()).max().unwrap_or(0))
        .collect();
    for r in &rows {
        let mut line = String::new();
        for (col, cell) in r.iter().enumerate() {
            let pad = widths[col] - cell.width();
            // Text columns align left, numbers right.
            if matches!(col, 1 | 2) {
                line.push_str(cell);
                line.push_str(&" ".repeat(pad));
            } else {
                line.push_str(&" ".repeat(pad));
                line.push_str(cell);
            }
            line.push_str("  ");
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
    out
}

fn header(snap: &Snapshot) -> String {
    let fx = match (snap.exchange_rate, snap.fx) {
        (Some(rate), Some(info)) => format!(
            "USD/KRW {} ({} · {})",
            group(rate, 1),
            info.source.as_str(),
            age(info.age_ms)
        ),
        (None, Some(info)) => format!(
            "USD/KRW stale ({} · {})",
            info.source.as_str(),
            age(info.age_ms)
        ),
        _ => "USD/KRW —".into(),
    };
    let usdt = match (snap.usdt_krw_rate, snap.tether_premium_percent) {
        (Some(u), Some(t)) => format!("USDT/KRW {} (테더 {})", group(u, 1), percent(Some(t))),
        (Some(u), None) => format!("USDT/KRW {}", group(u, 1)),
        _ => "USDT/KRW —".into(),
    };
    let btc = snap
        .coin("BTC")
        .map_or_else(|| "—".into(), |c| percent(c.premium_percent));
    format!(
        "{} │ {} │ BTC 김프 {} │ {} ↔ {} │ {}",
        fx,
        usdt,
        btc,
        title(snap.pair.domestic),
        title(snap.pair.global),
        snap.timestamp
    )
}

fn feeds_line(snap: &Snapshot) -> String {
    let parts: Vec<String> = snap
        .feeds
        .iter()
        .map(|f| {
            let mut s = format!("{} {}", f.feed, f.state.as_str());
            if f.parse_errors > 0 {
                let _ = write!(s, " ({} bad)", f.parse_errors);
            }
            s
        })
        .collect();
    format!("feeds: {}", parts.join(", "))
}

fn row(n: usize, c: &CoinRow, dom: Venue, glob: Venue) -> Vec<String> {
    let price = |v: Venue| c.prices.get(&v);
    let dom_price = price(dom).map_or_else(|| "—".into(), |p| krw(p.price));
    let glob_price = price(glob).map_or_else(|| "—".into(), |p| usd(p.price));
    let mut kimp = percent(c.premium_percent);
    if c.flags.iter().any(|f| f == "no_global_market") {
        kimp = "no global".into();
    } else if c.flags.iter().any(|f| f == "awaiting_global_quote") {
        kimp = "…".into();
    } else if c.stale {
        kimp = format!("{kimp} stale");
    }
    let name = c
        .name_ko
        .clone()
        .or_else(|| c.name_en.clone())
        .unwrap_or_default();
    vec![
        n.to_string(),
        c.symbol.clone(),
        name,
        dom_price,
        glob_price,
        c.global_price_krw.map_or_else(|| "—".into(), krw),
        kimp,
        percent(c.premium_usdt_percent),
        percent(price(dom).and_then(|p| p.change_percent)),
        price(dom)
            .and_then(|p| p.volume)
            .map_or_else(|| "—".into(), eok_jo),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(group(143_210_000.0, 0), "143,210,000");
        assert_eq!(group(1_384.25, 1), "1,384.2");
        assert_eq!(group(999.0, 0), "999");
        assert_eq!(eok_jo(1.2e12), "1.2조");
        assert_eq!(eok_jo(3.456e11), "3,456억");
        assert_eq!(percent(Some(-0.912)), "−0.91%");
        assert_eq!(percent(Some(2.2)), "+2.20%");
        assert_eq!(age(12_345), "12s");
        assert_eq!(krw(0.0155), "0.01550");
        assert_eq!(usd(0.162_243), "0.1622");
        assert_eq!(usd(0.000_006_15), "0.000006150");
        assert_eq!(usd(101_234.5), "101,234.50");
    }
}
