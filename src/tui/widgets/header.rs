//! The two header rows: rates, BTC premium, fear & greed and the clock; then the venue pair, sort,
//! filter and one health mark per feed. Pieces drop by priority on narrow screens; the clock
//! stays at the right edge.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Span;

use crate::config::ClockZone;
use crate::model::{FeedState, Millis};
use crate::state::snapshot::Snapshot;
use crate::tui::labels::{Labels, feed_label, fng_band, labels, venue_title};
use crate::tui::text::{age, clock_hms, group, signed_percent};
use crate::tui::ui_state::{SortColumn, UiState};
use crate::tui::widgets::{Piece, fit};

/// Feeds in the header, in this order (`SRV`: the link to the server with `--remote`).
const FEED_ORDER: [&str; 8] = ["SRV", "UPB", "BTH", "BIN", "BYB", "OKX", "FX", "F&G"];
/// Offset of Korea Standard Time from UTC.
pub const KST_OFFSET_SECS: i64 = 9 * 3_600;

/// `12:03:21 KST` in the chosen zone.
#[must_use]
pub fn clock_text(now: Millis, zone: ClockZone) -> String {
    match zone {
        ClockZone::Kst => format!("{} KST", clock_hms(now, KST_OFFSET_SECS)),
        ClockZone::Utc => format!("{} UTC", clock_hms(now, 0)),
    }
}

/// Draws both header rows into `area`.
pub fn render(buf: &mut Buffer, area: Rect, snap: &Snapshot, ui: &UiState, now: Millis) {
    let theme = &ui.theme;
    let l = labels(ui.language);
    let clock = clock_text(now, ui.clock);
    let clock_w = u16::try_from(clock.len()).unwrap_or(12);
    let left_w = area.width.saturating_sub(clock_w + 3);
    let sep = Span::styled(format!(" {} ", theme.symbols.bar), theme.border());
    let line1 = fit(rates(snap, ui, l), usize::from(left_w), &sep);
    buf.set_line(area.x + 1, area.y, &line1, left_w);
    buf.set_stringn(
        area.right().saturating_sub(clock_w + 1),
        area.y,
        &clock,
        usize::from(clock_w),
        theme.title(),
    );
    let line2 = fit(status(snap, ui, l), usize::from(area.width - 2), &sep);
    buf.set_line(area.x + 1, area.y + 1, &line2, area.width - 2);
}

fn rates<'a>(snap: &Snapshot, ui: &UiState, l: &'a Labels) -> Vec<Piece<'a>> {
    let theme = &ui.theme;
    let none = theme.symbols.none;
    let mut pieces = vec![Piece::new(6, vec![Span::styled("kimp", theme.title())])];
    fx(&mut pieces, snap, ui, l);
    let usdt = snap.usdt_krw_rate.map_or_else(
        || none.to_string(),
        |u| group(u, usize::from(u.fract() != 0.0)),
    );
    pieces.push(Piece::new(1, vec![Span::raw(format!("USDT/KRW {usdt}"))]));
    if let Some(t) = snap.tether_premium_percent {
        let text = format!("({} {})", l.tether, signed_percent(Some(t), none));
        let style = theme.signed(Some(t));
        pieces.push(Piece::attached(2, vec![Span::styled(text, style)]));
    }
    let btc = snap.coin("BTC").and_then(|c| c.premium_percent);
    let label = Span::raw(format!("BTC {} ", l.premium));
    let value = Span::styled(signed_percent(btc, none), theme.signed(btc));
    pieces.push(Piece::new(1, vec![label, value]));
    fear_greed(&mut pieces, snap, ui, l);
    pieces
}

/// `USD/KRW 1,384.2` and, attached, `(dunamu · 12s)`.
fn fx<'a>(pieces: &mut Vec<Piece<'a>>, snap: &Snapshot, ui: &UiState, l: &'a Labels) {
    let theme = &ui.theme;
    let Some(info) = snap.fx else {
        let text = format!("USD/KRW {}", theme.symbols.none);
        pieces.push(Piece::new(1, vec![Span::raw(text)]));
        return;
    };
    let (value, style) = match snap.exchange_rate {
        Some(r) if !info.stale => (group(r, 1), Style::new()),
        _ => (l.stale.to_string(), theme.warn()),
    };
    pieces.push(Piece::new(
        1,
        vec![Span::raw("USD/KRW "), Span::styled(value, style)],
    ));
    let dot = theme.symbols.dot;
    let src = format!("({} {dot} {})", info.source.as_str(), age(info.age_ms));
    pieces.push(Piece::attached(4, vec![Span::styled(src, theme.muted())]));
}

/// `F&G 73`, the gauge and the class.
fn fear_greed<'a>(pieces: &mut Vec<Piece<'a>>, snap: &Snapshot, ui: &UiState, l: &'a Labels) {
    let theme = &ui.theme;
    let Some(fg) = &snap.fear_greed else { return };
    pieces.push(Piece::new(3, vec![Span::raw(format!("F&G {}", fg.value))]));
    let filled = usize::from(fg.value.min(100)).div_ceil(10);
    let gauge = format!(
        "{}{}",
        theme.symbols.gauge_full.repeat(filled),
        theme.symbols.gauge_empty.repeat(10 - filled)
    );
    let style = if fg.value >= 50 {
        theme.up()
    } else {
        theme.down()
    };
    pieces.push(Piece::attached(5, vec![Span::styled(gauge, style)]));
    let class = l.fng[fng_band(fg.value)];
    pieces.push(Piece::attached(6, vec![Span::styled(class, theme.muted())]));
}

fn sort_label(l: &Labels, to_krw: &'static str, column: SortColumn) -> &'static str {
    match column {
        SortColumn::Premium => l.premium,
        SortColumn::TetherPremium => l.usdt_premium,
        SortColumn::Change => l.change,
        SortColumn::Value => l.value,
        SortColumn::Name => l.name_sort,
        SortColumn::DomesticPrice => l.domestic_price,
        SortColumn::GlobalPrice => l.global_price,
        SortColumn::GlobalKrw => to_krw,
    }
}

fn status<'a>(snap: &Snapshot, ui: &UiState, l: &'a Labels) -> Vec<Piece<'a>> {
    let theme = &ui.theme;
    let sym = &theme.symbols;
    let pair = ui.current_pair(snap);
    let mut pair_text = format!(
        "{} {} {}",
        venue_title(pair.domestic),
        sym.pair_arrow,
        venue_title(pair.global)
    );
    if ui.pending_pair.is_some() {
        pair_text.push_str(sym.ellipsis);
    }
    let arrow = if ui.sort.descending {
        sym.sort_desc
    } else {
        sym.sort_asc
    };
    let mut pieces = vec![
        Piece::new(0, vec![Span::styled(pair_text, theme.title())]),
        Piece::new(
            1,
            vec![Span::raw(format!(
                "{} {} {arrow}",
                l.sort,
                sort_label(l, sym.to_krw, ui.sort.column)
            ))],
        ),
    ];
    if ui.filter_editing || !ui.filter.is_empty() {
        let cursor = if ui.filter_editing { "_" } else { "" };
        let text = format!("{}: {}{cursor}", l.filter, ui.filter);
        pieces.push(Piece::new(0, vec![Span::styled(text, theme.key())]));
    }
    let mut marks = Vec::new();
    for label in FEED_ORDER {
        let Some(state) = feed_state(snap, label) else {
            continue;
        };
        if !marks.is_empty() {
            marks.push(Span::raw(" "));
        }
        marks.push(Span::raw(label));
        marks.push(Span::styled(sym.health(state), theme.health(state)));
    }
    if !marks.is_empty() {
        pieces.push(Piece::new(2, marks));
    }
    pieces
}

/// Rank of a state when several feeds share a label: the best one counts (a REST fallback that
/// is live keeps the venue's prices coming while its socket is down).
fn rank(state: FeedState) -> u8 {
    match state {
        FeedState::Live => 0,
        FeedState::Quiet => 1,
        FeedState::Connecting => 2,
        FeedState::Reconnecting => 3,
        FeedState::Stale => 4,
        FeedState::Down => 5,
        FeedState::Disabled => 6,
    }
}

/// The state shown for a header label, `None` when no such feed is registered.
#[must_use]
pub fn feed_state(snap: &Snapshot, label: &str) -> Option<FeedState> {
    snap.feeds
        .iter()
        .filter(|f| feed_label(f.feed) == Some(label))
        .map(|f| f.state)
        .min_by_key(|&s| rank(s))
}
