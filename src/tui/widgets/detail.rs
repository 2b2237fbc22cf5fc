//! The detail popup (`Enter`): every venue's quote of the selected coin, both premiums, its
//! flags, and a premium sparkline with percentiles over 1 h / 24 h / 7 d from the persisted
//! minute samples ("collecting…" until there are enough).

use std::fmt::Write as _;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use crate::config::Language;
use crate::history::PremiumSample;
use crate::model::{Currency, Millis, Venue};
use crate::state::snapshot::{CoinRow, Snapshot};
use crate::tui::labels::{Labels, flag_label, labels, venue_title};
use crate::tui::layout::centered;
use crate::tui::text::{age, compact, eok_jo, krw, signed_percent, usd};
use crate::tui::theme::Theme;
use crate::tui::ui_state::{SparkData, UiState, display_name};
use crate::tui::widgets::{Align, popup, put};

/// Fewest samples (minutes) worth a sparkline.
pub const MIN_SAMPLES: usize = 2;
const HOUR_MS: Millis = 3_600_000;
/// Percentile windows.
const WINDOWS: [(&str, Millis); 3] = [
    ("1h", HOUR_MS),
    ("24h", 24 * HOUR_MS),
    ("7d", 7 * 24 * HOUR_MS),
];

/// Draws the popup over `body` for the selected coin.
pub fn render(buf: &mut Buffer, body: Rect, snap: &Snapshot, ui: &UiState, now: Millis) {
    let Some(coin) = ui.selected_row(snap) else {
        return;
    };
    let theme = &ui.theme;
    let l = labels(ui.language);
    let title = Line::from(Span::styled(title(coin, ui), theme.title()));
    let inner = popup(buf, centered(body, 96, 18), title, theme);
    let (x, w) = (inner.x + 1, inner.width.saturating_sub(2));
    let mut y = venues(buf, (x, inner.y), w, coin, snap, ui) + 1;
    buf.set_line(x, y, &premium_line(coin, snap, ui, l), w);
    y += 1;
    let flags: Vec<String> = coin
        .flags
        .iter()
        .map(|f| flag_label(l, f).map_or_else(|| f.clone(), |lbl| format!("{lbl} ({f})")))
        .collect();
    if !flags.is_empty() {
        let text = format!("{}: {}", l.flags, flags.join(", "));
        text_line(buf, (x, y), w, &text, theme.warn(), theme);
        y += 1;
    }
    y += 1;
    if y + 2 <= inner.bottom() {
        let area = Rect::new(x, y, w, inner.bottom() - y);
        history(buf, area, coin, snap, ui, now);
    }
}

/// ` 비트코인 BTC · Bitcoin `
fn title(coin: &CoinRow, ui: &UiState) -> String {
    let other = match ui.language {
        Language::Ko => coin.name_en.as_deref(),
        Language::En => coin.name_ko.as_deref(),
    };
    let mut title = format!(" {} {} ", display_name(coin, ui.language), coin.symbol);
    if let Some(o) = other {
        let _ = write!(title, "{} {o} ", ui.theme.symbols.dot);
    }
    title
}

/// Left-aligned text over `w` cells.
fn text_line(buf: &mut Buffer, at: (u16, u16), w: u16, text: &str, style: Style, theme: &Theme) {
    put(buf, at, w, text, Align::Left, style, theme);
}

/// The venue table (header and one row per quoting venue); returns the next free row.
fn venues(
    buf: &mut Buffer,
    (x, y): (u16, u16),
    w: u16,
    coin: &CoinRow,
    snap: &Snapshot,
    ui: &UiState,
) -> u16 {
    let theme = &ui.theme;
    let l = labels(ui.language);
    let heads = [
        l.venue,
        l.price,
        theme.symbols.to_krw,
        "24h",
        l.value,
        l.age,
    ];
    put_row(
        buf,
        (x, y),
        w,
        &heads.map(|h| (h.to_string(), theme.title())),
        theme,
    );
    let mut y = y + 1;
    for venue in Venue::ALL {
        if let Some(cells) = venue_cells(coin, venue, snap, ui) {
            put_row(buf, (x, y), w, &cells, theme);
            y += 1;
        }
    }
    y
}

/// Offset, width and alignment of the venue table's columns.
const VENUE_COLS: [(u16, u16, Align); 6] = [
    (0, 8, Align::Left),
    (9, 16, Align::Right),
    (26, 14, Align::Right),
    (41, 8, Align::Right),
    (50, 9, Align::Right),
    (60, 10, Align::Right),
];

fn put_row(
    buf: &mut Buffer,
    (x, y): (u16, u16),
    w: u16,
    cells: &[(String, Style); 6],
    theme: &Theme,
) {
    for ((text, style), (dx, cw, align)) in cells.iter().zip(VENUE_COLS) {
        if dx >= w {
            break;
        }
        put(buf, (x + dx, y), cw.min(w - dx), text, align, *style, theme);
    }
}

fn venue_cells(
    coin: &CoinRow,
    venue: Venue,
    snap: &Snapshot,
    ui: &UiState,
) -> Option<[(String, Style); 6]> {
    let p = coin.prices.get(&venue)?;
    let theme = &ui.theme;
    let in_pair = venue == snap.pair.domestic || venue == snap.pair.global;
    let (price, to_krw) = match p.currency {
        Currency::Krw => (format!("{} ₩", krw(p.price)), String::new()),
        Currency::Usdt => {
            let k = snap
                .exchange_rate
                .map(|f| krw(p.price * f))
                .unwrap_or_default();
            (format!("{} $", usd(p.price)), k)
        }
    };
    let value = p
        .volume
        .map_or_else(String::new, |v| match (p.currency, ui.language) {
            (Currency::Krw, Language::Ko) => eok_jo(v),
            (Currency::Krw, Language::En) => format!("₩{}", compact(v)),
            (Currency::Usdt, _) => format!("${}", compact(v)),
        });
    let name_style = if in_pair { theme.title() } else { Style::new() };
    let row_style = if p.stale { theme.stale() } else { Style::new() };
    let mut age_text = age(p.age_ms);
    if p.stale {
        age_text = format!("{} {age_text}", labels(ui.language).stale);
    }
    Some([
        (venue_title(venue).to_string(), name_style),
        (price, row_style),
        (to_krw, row_style),
        (
            signed_percent(p.change_percent, theme.symbols.none),
            theme.signed(p.change_percent),
        ),
        (value, row_style),
        (age_text, row_style),
    ])
}

fn premium_line<'a>(coin: &CoinRow, snap: &Snapshot, ui: &UiState, l: &Labels) -> Line<'a> {
    let theme = &ui.theme;
    let (k, t) = (coin.premium_percent, coin.premium_usdt_percent);
    Line::from(vec![
        Span::styled(format!("{} ", l.premium), theme.title()),
        Span::styled(signed_percent(k, theme.symbols.none), theme.signed(k)),
        Span::styled(format!("   {} ", l.usdt_premium), theme.title()),
        Span::styled(signed_percent(t, theme.symbols.none), theme.signed(t)),
        Span::styled(
            format!(
                "   ({} {} {})",
                venue_title(snap.pair.domestic),
                theme.symbols.pair_arrow,
                venue_title(snap.pair.global)
            ),
            theme.muted(),
        ),
    ])
}

/// Premium values of the current pair, oldest first.
fn samples<'a>(
    all: &'a [PremiumSample],
    snap: &'a Snapshot,
) -> impl Iterator<Item = (Millis, f64)> + 'a {
    all.iter()
        .filter(move |s| s.domestic == snap.pair.domestic && s.global == snap.pair.global)
        .filter_map(|s| Some((s.minute_ms, s.premium_percent?)))
}

fn history(
    buf: &mut Buffer,
    area: Rect,
    coin: &CoinRow,
    snap: &Snapshot,
    ui: &UiState,
    now: Millis,
) {
    let theme = &ui.theme;
    let l = labels(ui.language);
    let at = (area.x, area.y);
    let spark = ui.spark.as_ref().filter(|s| s.symbol == coin.symbol);
    let data = match spark.map(|s| &s.data) {
        Some(SparkData::Ready(all)) => all.as_slice(),
        Some(SparkData::Failed(e)) => {
            let text = format!("{}: {e}", l.history_error);
            return text_line(buf, at, area.width, &text, theme.warn(), theme);
        }
        _ => &[],
    };
    let points: Vec<(Millis, f64)> = samples(data, snap).collect();
    if points.len() < MIN_SAMPLES {
        return text_line(buf, at, area.width, l.collecting, theme.muted(), theme);
    }
    let label_w: u16 = 14;
    let spark_w = area.width.saturating_sub(label_w + 1);
    let span_ms = (now - points[0].0).clamp(60_000, 24 * HOUR_MS);
    let label = format!("{} {}", l.premium, age(span_ms));
    text_line(buf, at, label_w, &label, theme.title(), theme);
    let line = sparkline(&points, now - span_ms, now, usize::from(spark_w), theme);
    let spark_at = area.x + label_w + 1;
    buf.set_stringn(spark_at, area.y, &line, usize::from(spark_w), theme.up());
    if area.height > 1 {
        let text = percentiles(&points, coin, now, ui);
        text_line(
            buf,
            (area.x, area.y + 1),
            area.width,
            &text,
            theme.muted(),
            theme,
        );
    }
}

/// `백분위 1h p83   24h p60   7d p45   min +1.50% max +2.95%`: where the current premium sits.
fn percentiles(points: &[(Millis, f64)], coin: &CoinRow, now: Millis, ui: &UiState) -> String {
    let none = ui.theme.symbols.none;
    let current = coin.premium_percent.or(points.last().map(|p| p.1));
    let mut text = format!("{} ", labels(ui.language).percentile);
    for (name, len) in WINDOWS {
        let window: Vec<f64> = points
            .iter()
            .filter(|p| p.0 >= now - len)
            .map(|p| p.1)
            .collect();
        let pct = current.and_then(|c| percentile(&window, c));
        let shown = pct.map_or_else(|| none.to_string(), |p| format!("p{p:.0}"));
        let _ = write!(text, "{name} {shown}   ");
    }
    let (lo, hi) = points.iter().fold((f64::MAX, f64::MIN), |(lo, hi), p| {
        (lo.min(p.1), hi.max(p.1))
    });
    let (lo, hi) = (
        signed_percent(Some(lo), none),
        signed_percent(Some(hi), none),
    );
    let _ = write!(text, "min {lo} max {hi}");
    text
}

/// Share of `values` at or below `current`, in percent; `None` for no values.
#[must_use]
pub fn percentile(values: &[f64], current: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let below = values.iter().filter(|&&v| v <= current).count();
    Some(below as f64 * 100.0 / values.len() as f64)
}

/// `width` cells of bars for the points in `[from, to]`: each cell averages the samples of its
/// time slice; slices without samples stay blank.
#[must_use]
pub fn sparkline(
    points: &[(Millis, f64)],
    from: Millis,
    to: Millis,
    width: usize,
    theme: &Theme,
) -> String {
    if width == 0 || to <= from {
        return String::new();
    }
    let mut sums = vec![(0.0_f64, 0_u32); width];
    let span = (to - from) as f64;
    for &(t, v) in points.iter().filter(|p| p.0 >= from && p.0 <= to) {
        let pos = ((t - from) as f64 / span * (width - 1) as f64).round();
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "0 ≤ pos < width"
        )]
        let slot = (pos as usize).min(width - 1);
        sums[slot].0 += v;
        sums[slot].1 += 1;
    }
    let avgs: Vec<Option<f64>> = sums
        .iter()
        .map(|&(s, n)| (n > 0).then(|| s / f64::from(n)))
        .collect();
    let (lo, hi) = avgs
        .iter()
        .flatten()
        .fold((f64::MAX, f64::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    let levels = theme.symbols.spark;
    avgs.iter()
        .map(|a| match a {
            None => " ",
            Some(_) if hi - lo < 1e-9 => levels[3],
            Some(v) => {
                #[expect(
                    clippy::cast_possible_truncation,
                    clippy::cast_sign_loss,
                    reason = "0 ≤ level ≤ 7"
                )]
                let level = (((v - lo) / (hi - lo)) * 7.0).round() as usize;
                levels[level.min(7)]
            }
        })
        .collect()
}
