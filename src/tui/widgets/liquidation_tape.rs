//! The liquidation tape: newest first, venue, coin, LONG/SHORT, USD size, price, and a size tier
//! shown by weight and by a text mark (`!` ≥ $100K, `!!` ≥ $1M) so it reads without colour.
//! The title says the minimum size, whether the tape is frozen, and how long ago the last
//! liquidation was, so a quiet tape reads as healthy.
//!
//! A liquidated long is a forced sell, so it takes the "down" colour; a short, the "up" colour.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use crate::config::{ClockZone, Language};
use crate::model::{Liquidation, Millis, Side};
use crate::state::snapshot::Snapshot;
use crate::tui::labels::{labels, liq_code};
use crate::tui::layout::{self, Focus, GAP};
use crate::tui::text::{age, clock_hms, group, usd, usd_compact};
use crate::tui::theme::Theme;
use crate::tui::ui_state::UiState;
use crate::tui::widgets::header::KST_OFFSET_SECS;
use crate::tui::widgets::{Align, pane, put};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    Time,
    Venue,
    Coin,
    Side,
    Size,
    Price,
    Tier,
}

/// Screen order, width, priority (0 kept longest).
const COLS: [(Col, u16, u8); 7] = [
    (Col::Time, 8, 1),
    (Col::Venue, 3, 0),
    (Col::Coin, 6, 0),
    (Col::Side, 5, 0),
    (Col::Size, 7, 0),
    (Col::Price, 10, 2),
    (Col::Tier, 2, 3),
];

fn columns(width: u16) -> Vec<(Col, u16)> {
    let mut keep = [false; COLS.len()];
    let mut used = 0;
    for prio in 0..=3 {
        for (i, &(_, w, p)) in COLS.iter().enumerate() {
            let need = w + if used == 0 { 0 } else { GAP };
            if p == prio && used + need <= width {
                keep[i] = true;
                used += need;
            }
        }
    }
    COLS.iter()
        .zip(keep)
        .filter(|(_, k)| *k)
        .map(|(&(c, w, _), _)| (c, w))
        .collect()
}

/// When the newest liquidation on any venue happened.
fn last_event(snap: &Snapshot) -> Option<Millis> {
    let from_summary = snap
        .liquidations
        .as_ref()
        .and_then(|s| s.exchanges.values().filter_map(|v| v.last_event_ms).max());
    let from_tape = snap.recent_liquidations.first().map(|l| l.time_ms);
    from_summary.max(from_tape)
}

fn title<'a>(snap: &Snapshot, ui: &UiState, now: Millis) -> (Line<'a>, Line<'a>) {
    let theme = &ui.theme;
    let l = labels(ui.language);
    let mut left = vec![Span::styled(format!(" {} ", l.liquidations), theme.title())];
    if ui.min_usd() > 0.0 {
        left.push(Span::styled(
            format!("≥{} ", usd_compact(ui.min_usd())),
            theme.key(),
        ));
    }
    if ui.frozen.is_some() {
        left.push(Span::styled(
            format!("{} ", l.frozen),
            theme.warn().add_modifier(Modifier::REVERSED),
        ));
    }
    let ago = last_event(snap).map_or_else(
        || l.never.to_string(),
        |t| {
            let a = age((now - t).max(0));
            match ui.language {
                Language::Ko => format!("{} {a} 전", l.last_ago),
                Language::En => format!("{} {a} ago", l.last_ago),
            }
        },
    );
    (
        Line::from(left),
        Line::from(Span::styled(format!(" {ago} "), theme.muted())),
    )
}

/// Draws the tape pane into `area`.
pub fn render(buf: &mut Buffer, area: Rect, snap: &Snapshot, ui: &UiState, now: Millis) {
    let theme = &ui.theme;
    let (left, right) = title(snap, ui, now);
    let inner = pane(buf, area, left, Some(right), ui.focus == Focus::Tape, theme);
    if inner.height < 2 || inner.width < 10 {
        return;
    }
    let cols = columns(inner.width);
    let mut x = inner.x;
    for &(col, w) in &cols {
        let text = match col {
            Col::Time => "time",
            Col::Venue => "ex",
            Col::Coin => "coin",
            Col::Side => "side",
            Col::Size => "USD",
            Col::Price => "price",
            Col::Tier => "",
        };
        let align = if matches!(col, Col::Size | Col::Price) {
            Align::Right
        } else {
            Align::Left
        };
        put(buf, (x, inner.y), w, text, align, theme.title(), theme);
        x += w + GAP;
    }
    let rows = layout::tape_rows(area);
    for (line, liq) in ui.tape(snap).skip(ui.tape_offset).take(rows).enumerate() {
        let y = inner.y + 1 + u16::try_from(line).unwrap_or(0);
        draw_event(buf, Rect::new(inner.x, y, inner.width, 1), &cols, liq, ui);
    }
}

/// Weight of a size tier.
fn tier(theme: &Theme, usd: f64) -> (Style, &'static str) {
    if usd >= 1e6 {
        (
            Style::new().add_modifier(Modifier::BOLD | Modifier::REVERSED),
            "!!",
        )
    } else if usd >= 1e5 {
        (Style::new().add_modifier(Modifier::BOLD), "!")
    } else if usd >= 1e4 {
        (Style::new(), "")
    } else {
        (theme.muted(), "")
    }
}

fn price(v: f64) -> String {
    if v >= 1_000.0 { group(v, 1) } else { usd(v) }
}

fn draw_event(buf: &mut Buffer, area: Rect, cols: &[(Col, u16)], liq: &Liquidation, ui: &UiState) {
    let theme = &ui.theme;
    let (weight, mark) = tier(theme, liq.notional_usd);
    let side_style = match liq.side {
        Side::Long => theme.down(),
        Side::Short => theme.up(),
    };
    let offset = match ui.clock {
        ClockZone::Kst => KST_OFFSET_SECS,
        ClockZone::Utc => 0,
    };
    let mut x = area.x;
    for &(col, w) in cols {
        let (text, style, align) = match col {
            Col::Time => (clock_hms(liq.time_ms, offset), theme.muted(), Align::Left),
            Col::Venue => (
                liq_code(liq.exchange).to_string(),
                Style::new(),
                Align::Left,
            ),
            Col::Coin => (liq.base.clone(), Style::new(), Align::Left),
            Col::Side => {
                let s = match liq.side {
                    Side::Long => "LONG",
                    Side::Short => "SHORT",
                };
                (s.to_string(), side_style, Align::Left)
            }
            Col::Size => (
                usd_compact(liq.notional_usd),
                side_style.patch(weight),
                Align::Right,
            ),
            Col::Price => (price(liq.price), Style::new(), Align::Right),
            Col::Tier => (mark.to_string(), weight, Align::Left),
        };
        put(buf, (x, area.y), w, &text, align, style, theme);
        x += w + GAP;
    }
}
