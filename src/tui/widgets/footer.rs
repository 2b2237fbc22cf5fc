//! The two footer rows: 24 h liquidation totals per venue with coverage marks (`*` sampled,
//! `†` partial) and the venue's feed health; then key hints, or the filter prompt, with the
//! status message (venue switch, favourites save failure) on the right.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::Span;

use crate::config::Language;
use crate::model::{Coverage, LiqVenue, Millis};
use crate::state::liquidations::Window;
use crate::state::snapshot::Snapshot;
use crate::tui::labels::{Labels, labels, liq_code};
use crate::tui::text::{self, usd_compact};
use crate::tui::ui_state::UiState;
use crate::tui::widgets::{Align, Piece, fit, put};

/// Draws both footer rows into `area`.
pub fn render(buf: &mut Buffer, area: Rect, snap: &Snapshot, ui: &UiState, now: Millis) {
    let theme = &ui.theme;
    let l = labels(ui.language);
    let width = area.width.saturating_sub(2);
    let sep = Span::styled(format!(" {} ", theme.symbols.bar), theme.border());
    let line = fit(totals(snap, ui, l), usize::from(width), &sep);
    buf.set_line(area.x + 1, area.y, &line, width);

    // Row 2: hints on the left; on the right the status message, or else the coverage legend.
    let y = area.y + 1;
    let legend = format!("* {} {} {}", l.sampled, theme.symbols.partial, l.partial);
    let (right, right_style) = match ui.status.as_ref().filter(|s| s.until_ms > now) {
        Some(s) if s.error => (s.text.as_str(), theme.warn()),
        Some(s) => (s.text.as_str(), theme.muted()),
        None => (legend.as_str(), theme.muted()),
    };
    let right_w = u16::try_from(text::width(right))
        .unwrap_or(width)
        .min(width);
    put(
        buf,
        (area.x + 1 + width - right_w, y),
        right_w,
        right,
        Align::Left,
        right_style,
        theme,
    );
    let hints_w = width.saturating_sub(right_w + u16::from(right_w > 0));
    let hints = match (ui.filter_editing, ui.language) {
        (false, _) => l.hints,
        (true, Language::Ko) => "필터 입력 중: Enter 확인  Esc 지우기  ↑↓ 이동",
        (true, Language::En) => "typing a filter: Enter keeps  Esc clears  ↑↓ move",
    };
    put(
        buf,
        (area.x + 1, y),
        hints_w,
        hints,
        Align::Left,
        theme.muted(),
        theme,
    );
}

fn totals<'a>(snap: &Snapshot, ui: &UiState, l: &'a Labels) -> Vec<Piece<'a>> {
    let theme = &ui.theme;
    let sym = &theme.symbols;
    let mut pieces = vec![Piece::new(3, vec![Span::styled(l.liq_24h, theme.title())])];
    let Some(summary) = &snap.liquidations else {
        return pieces;
    };
    for (i, venue) in LiqVenue::ALL.into_iter().enumerate() {
        let Some(v) = summary.exchanges.get(&venue) else {
            continue;
        };
        let mark = match v.coverage {
            Coverage::Sampled => "*",
            Coverage::Partial => sym.partial,
            Coverage::Complete => "",
        };
        let mut spans = vec![Span::raw(format!("{}{mark}", liq_code(venue)))];
        if let Some(state) = v.state {
            spans.push(Span::styled(sym.health(state), theme.health(state)));
        }
        let w = v.windows.get(Window::H24);
        spans.push(Span::raw(" L"));
        spans.push(Span::styled(usd_compact(w.long_usd), theme.down()));
        spans.push(Span::raw(" S"));
        spans.push(Span::styled(usd_compact(w.short_usd), theme.up()));
        // Venues with a coverage caveat stay longest: their marks must be explained.
        let priority = u8::from(v.coverage == Coverage::Complete);
        pieces.push(Piece::new(
            priority + u8::try_from(i / 2).unwrap_or(0),
            spans,
        ));
    }
    pieces
}
