//! The `?` overlay: the key map straight from [`BINDINGS`] (so it cannot drift from what the
//! keys do), in two columns so it fits 80×24, plus the legend of marks.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use crate::config::Language;
use crate::model::FeedState;
use crate::tui::keymap::BINDINGS;
use crate::tui::labels::labels;
use crate::tui::layout::centered;
use crate::tui::ui_state::UiState;
use crate::tui::widgets::{Align, popup, put};

/// Cells for the key names.
const KEY_W: u16 = 9;
/// Cells for one description.
const DESC_W: u16 = 26;
const COLUMN_W: u16 = KEY_W + 1 + DESC_W + 2;

/// Draws the help popup centred in `area`.
pub fn render(buf: &mut Buffer, area: Rect, ui: &UiState) {
    let theme = &ui.theme;
    let l = labels(ui.language);
    let per_column = BINDINGS.len().div_ceil(2);
    let rows = u16::try_from(per_column).unwrap_or(12);
    let popup_area = centered(area, COLUMN_W * 2 + 2, rows + 6);
    let title = Line::from(Span::styled(format!(" {} ", l.help_title), theme.title()));
    let inner = popup(buf, popup_area, title, theme);
    keys(buf, inner, per_column, ui);
    let legend = legend(ui);
    let lines = [legend[0].as_str(), legend[1].as_str(), l.help_close];
    for (y, text) in (inner.y + rows + 1..inner.bottom()).zip(lines) {
        let w = inner.width.saturating_sub(2);
        put(
            buf,
            (inner.x + 1, y),
            w,
            text,
            Align::Left,
            theme.muted(),
            theme,
        );
    }
}

/// The key table in two columns of `per_column` rows.
fn keys(buf: &mut Buffer, inner: Rect, per_column: usize, ui: &UiState) {
    let theme = &ui.theme;
    for (i, b) in BINDINGS.iter().enumerate() {
        let column = u16::try_from(i / per_column).unwrap_or(0);
        let row = u16::try_from(i % per_column).unwrap_or(0);
        let (x, y) = (inner.x + 1 + column * COLUMN_W, inner.y + row);
        if y >= inner.bottom() || x + KEY_W >= inner.right() {
            continue;
        }
        let desc = match ui.language {
            Language::Ko => b.ko,
            Language::En => b.en,
        };
        put(buf, (x, y), KEY_W, b.label, Align::Left, theme.key(), theme);
        let desc_w = DESC_W.min(inner.right().saturating_sub(x + KEY_W + 1));
        let plain = ratatui::style::Style::new();
        put(
            buf,
            (x + KEY_W + 1, y),
            desc_w,
            desc,
            Align::Left,
            plain,
            theme,
        );
    }
}

/// Health marks and row marks, each on one line.
fn legend(ui: &UiState) -> [String; 2] {
    let sym = &ui.theme.symbols;
    let states = [
        FeedState::Live,
        FeedState::Quiet,
        FeedState::Connecting,
        FeedState::Reconnecting,
        FeedState::Stale,
        FeedState::Down,
        FeedState::Disabled,
    ];
    let mut health = String::new();
    for s in states {
        health.push_str(sym.health(s));
        health.push_str(s.as_str());
        health.push(' ');
    }
    let marks = match ui.language {
        Language::Ko => format!(
            "{} 즐겨찾기  ! 거래소 유의/주의  ~ 지연  ? 의심",
            sym.favourite
        ),
        Language::En => format!(
            "{} favourite  ! venue warning  ~ stale  ? suspect",
            sym.favourite
        ),
    };
    [health, marks]
}
