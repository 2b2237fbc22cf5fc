//! The whole frame ([`draw`]) and helpers the widgets share: priority-fitted lines, aligned cells
//! written straight into the buffer (no per-cell allocation beyond the formatted text), and
//! bordered panes (only their border cells are touched).
//!
//! Every render function is pure: `(buffer, area, &Snapshot, &UiState, now)` in, cells out; no
//! I/O, no locks, no clock reads.

pub mod detail;
pub mod footer;
pub mod header;
pub mod help;
pub mod liquidation_tape;
pub mod premium_table;

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::symbols::border;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Widget};

use crate::model::Millis;
use crate::state::snapshot::Snapshot;
use crate::tui::layout;
use crate::tui::text::{self, truncate};
use crate::tui::theme::Theme;
use crate::tui::ui_state::UiState;

/// Draws one frame of the dashboard for `snap` and `ui` as of `now`.
pub fn draw(f: &mut Frame<'_>, snap: &Snapshot, ui: &UiState, now: Millis) {
    let area = f.area();
    let buf = f.buffer_mut();
    let Some(regions) = layout::regions(area, ui.focus) else {
        let note = format!(
            "{}×{} < {}×{}",
            area.width,
            area.height,
            layout::MIN_WIDTH,
            layout::MIN_HEIGHT
        );
        buf.set_stringn(area.x, area.y, note, usize::from(area.width), Style::new());
        return;
    };
    header::render(buf, regions.header, snap, ui, now);
    if let Some(table) = regions.table {
        premium_table::render(buf, table, snap, ui, now);
    }
    if let Some(tape) = regions.tape {
        liquidation_tape::render(buf, tape, snap, ui, now);
    }
    footer::render(buf, regions.footer, snap, ui, now);
    if ui.detail {
        detail::render(buf, regions.body, snap, ui, now);
    }
    if ui.help {
        help::render(buf, area, ui);
    }
}

/// One piece of a header or footer line. Pieces are dropped from the highest `priority` number
/// down until the line fits; `attach` pieces follow the previous one after a space instead of a
/// separator.
pub struct Piece<'a> {
    pub spans: Vec<Span<'a>>,
    pub priority: u8,
    pub attach: bool,
}

impl<'a> Piece<'a> {
    #[must_use]
    pub fn new(priority: u8, spans: Vec<Span<'a>>) -> Self {
        Piece {
            spans,
            priority,
            attach: false,
        }
    }

    #[must_use]
    pub fn attached(priority: u8, spans: Vec<Span<'a>>) -> Self {
        Piece {
            spans,
            priority,
            attach: true,
        }
    }

    fn width(&self) -> usize {
        self.spans.iter().map(Span::width).sum()
    }
}

/// The pieces that fit in `width`, most important first, shown in their original order.
#[must_use]
pub fn fit<'a>(pieces: Vec<Piece<'a>>, width: usize, sep: &Span<'a>) -> Line<'a> {
    let sep_w = sep.width();
    let total = |keep: &[bool]| -> usize {
        let mut sum = 0;
        let mut first = true;
        for (piece, _) in pieces.iter().zip(keep).filter(|(_, k)| **k) {
            if !first {
                sum += if piece.attach { 1 } else { sep_w };
            }
            first = false;
            sum += piece.width();
        }
        sum
    };
    let mut order: Vec<usize> = (0..pieces.len()).collect();
    order.sort_by_key(|&i| pieces[i].priority);
    let mut keep = vec![false; pieces.len()];
    for i in order {
        // An attached piece needs the piece it hangs on.
        if pieces[i].attach && (i == 0 || !keep[i - 1]) {
            continue;
        }
        keep[i] = true;
        if total(&keep) > width {
            keep[i] = false;
        }
    }
    let mut spans = Vec::new();
    let mut first = true;
    for (piece, k) in pieces.into_iter().zip(keep) {
        if !k {
            continue;
        }
        if !first {
            spans.push(if piece.attach {
                Span::raw(" ")
            } else {
                sep.clone()
            });
        }
        first = false;
        spans.extend(piece.spans);
    }
    Line::from(spans)
}

/// Horizontal placement of a cell's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// Writes `s` into the `w` cells at (`x`, `y`): cut at a cell boundary with the theme's
/// ellipsis when too wide, aligned, in `style`. Cells not covered keep their style.
pub fn put(
    buf: &mut Buffer,
    (x, y): (u16, u16),
    w: u16,
    s: &str,
    align: Align,
    style: Style,
    theme: &Theme,
) {
    // Prices, percentages and Korean names: text that fits and whose every char is a grapheme
    // of its own (printable ASCII, Hangul syllables). `set_stringn` would segment graphemes and
    // measure each one, a third of a frame's cost.
    if let Some(tw) = simple_width(s)
        && tw <= w
    {
        let start = match align {
            Align::Left => x,
            Align::Right => x + (w - tw),
        };
        put_simple(buf, (start, y), s, style);
        return;
    }
    let cut = truncate(s, usize::from(w), theme.symbols.ellipsis);
    let tw = u16::try_from(text::width(&cut)).unwrap_or(w).min(w);
    let start = match align {
        Align::Left => x,
        Align::Right => x + (w - tw),
    };
    buf.set_stringn(start, y, &cut, usize::from(tw), style);
}

/// Cells of a char that is always a grapheme by itself: 1 for printable ASCII, 2 for a
/// precomposed Hangul syllable (no grapheme rule joins two syllables, or a syllable and ASCII).
fn simple_char_width(c: char) -> Option<u16> {
    match c {
        ' '..='~' => Some(1),
        '\u{AC00}'..='\u{D7A3}' => Some(2),
        _ => None,
    }
}

/// The width of `s` when every char of it is simple ([`simple_char_width`]).
fn simple_width(s: &str) -> Option<u16> {
    s.chars()
        .try_fold(0_u16, |w, c| w.checked_add(simple_char_width(c)?))
}

/// What `buf.set_stringn(x, y, s, width, style)` does for text of simple chars: each char in a
/// cell, the cell hidden behind a wide one reset, nothing past the buffer's edge.
fn put_simple(buf: &mut Buffer, (x, y): (u16, u16), s: &str, style: Style) {
    let mut room = buf.area.right().saturating_sub(x);
    let mut x = x;
    let mut utf8 = [0; 4];
    for c in s.chars() {
        let Some(w) = simple_char_width(c).filter(|&w| w <= room) else {
            return;
        };
        let Some(cell) = buf.cell_mut((x, y)) else {
            return;
        };
        cell.set_symbol(c.encode_utf8(&mut utf8)).set_style(style);
        for hidden in 1..w {
            if let Some(cell) = buf.cell_mut((x + hidden, y)) {
                cell.reset();
            }
        }
        room -= w;
        x += w;
    }
}

/// A bordered pane with a title, focused or not; returns the inner area.
///
/// Draws what `Block::bordered()` with these titles draws, cell for cell, but touches only the
/// border row and columns: `Block` first sets its (here empty) style on every cell of the area,
/// which for panes covering most of a 200×60 screen was a sixth of a frame's cost.
pub fn pane(
    buf: &mut Buffer,
    area: Rect,
    title: Line<'_>,
    right: Option<Line<'_>>,
    focused: bool,
    theme: &Theme,
) -> Rect {
    let style = if focused {
        theme.focus_border()
    } else {
        theme.border()
    };
    let drawn = area.intersection(buf.area);
    if !drawn.is_empty() {
        border(buf, drawn, &theme.symbols.border, style);
        // The title row between the corners; the right title is placed on it independently of
        // the left one and drawn after it, so it wins where they overlap (as in `Block`).
        let row = Rect::new(drawn.x + 1, drawn.y, drawn.width.saturating_sub(2), 1);
        if !row.is_empty() {
            let w = line_width(&title).min(row.width);
            title.render(Rect { width: w, ..row }, buf);
            if let Some(r) = right {
                let w = line_width(&r);
                let x = row.right().saturating_sub(w).max(row.x);
                r.right_aligned()
                    .render(Rect::new(x, row.y, w.min(row.width), 1), buf);
            }
        }
    }
    inner(area)
}

fn line_width(line: &Line<'_>) -> u16 {
    u16::try_from(line.width()).unwrap_or(u16::MAX)
}

/// The area inside a one-cell border.
fn inner(area: Rect) -> Rect {
    let x = area.x.saturating_add(1).min(area.right());
    let y = area.y.saturating_add(1).min(area.bottom());
    Rect::new(
        x,
        y,
        area.width.saturating_sub(2),
        area.height.saturating_sub(2),
    )
}

/// The border of `area` (inside the buffer) in `set`, patched with `style`. Sides first, then the
/// corners over them, in `Block`'s order, so even a one-cell-wide area ends up the same.
fn border(buf: &mut Buffer, area: Rect, set: &border::Set<'_>, style: Style) {
    let (left, top) = (area.left(), area.top());
    let (right, bottom) = (area.right() - 1, area.bottom() - 1);
    let mut put = |x: u16, y: u16, symbol: &str| {
        if let Some(cell) = buf.cell_mut((x, y)) {
            cell.set_symbol(symbol).set_style(style);
        }
    };
    for y in top..=bottom {
        put(left, y, set.vertical_left);
    }
    for x in left..=right {
        put(x, top, set.horizontal_top);
    }
    for y in top..=bottom {
        put(right, y, set.vertical_right);
    }
    for x in left..=right {
        put(x, bottom, set.horizontal_bottom);
    }
    put(right, bottom, set.bottom_right);
    put(right, top, set.top_right);
    put(left, bottom, set.bottom_left);
    put(left, top, set.top_left);
}

/// Clears `area` for a popup and draws its frame; returns the inner area.
pub fn popup(buf: &mut Buffer, area: Rect, title: Line<'_>, theme: &Theme) -> Rect {
    // Two-cell characters cut by the popup's edges: one just left of it would paint over its
    // left border; one whose first half is cleared leaves an orphan half just right of it.
    let wide = |buf: &Buffer, x: u16, y: u16| {
        buf.cell((x, y))
            .is_some_and(|c| text::width(c.symbol()) > 1)
    };
    let right = area.right();
    let orphans: Vec<u16> = (area.top()..area.bottom())
        .filter(|&y| right > area.x && wide(buf, right - 1, y))
        .collect();
    for y in area.top()..area.bottom() {
        if area.x > buf.area.x
            && wide(buf, area.x - 1, y)
            && let Some(cell) = buf.cell_mut((area.x - 1, y))
        {
            cell.set_symbol(" ");
        }
    }
    Clear.render(area, buf);
    for y in orphans {
        if let Some(cell) = buf.cell_mut((right, y)) {
            cell.set_symbol(" ");
        }
    }
    pane(buf, area, title, None, true, theme)
}
