//! Where everything goes, as a pure function of the screen size (and focus, on small screens).
//!
//! ```text
//!  ┌────────────────────────────────────────────────────────────────────────────┐
//!  │ kimp  USD/KRW … │ USDT/KRW … │ BTC 김프 … │ F&G … │ 12:03:21 KST           │ header (2 rows)
//!  │ Upbit ↔ Binance · sort 김프 ▼ · filter … │ UPB● BTH● BIN● … LIQ BIN● …     │
//!  ├──────────────────────────────────────────────┬─────────────────────────────┤
//!  │ premium table                                │ liquidation tape            │ wide: ≥ 150 cols,
//!  │  (columns drop by priority, see COLUMNS)     │  (TAPE_WIDTH cols)          │ tape on the right
//!  ├──────────────────────────────────────────────┴─────────────────────────────┤
//!  │ 24h liq BIN* L $… S $… │ BYB … │ OKX† … │ BMX … │ * sampled † partial       │ footer (2 rows)
//!  │ ? help  q quit  / filter …                          status / save errors   │
//!  └────────────────────────────────────────────────────────────────────────────┘
//!
//!  tall (< 150 cols, ≥ 32 rows)       small (< 150 cols, < 32 rows, e.g. 80×24)
//!  ┌ header ───────────────┐          ┌ header ───────────────┐
//!  │ premium table         │          │ the focused pane only │
//!  ├───────────────────────┤          │ (Tab: table ↔ tape)   │
//!  │ tape (⅓, ≥ 8 rows)    │          │                       │
//!  │ footer                │          │ footer                │
//!  └───────────────────────┘          └───────────────────────┘
//! ```
//!
//! Popups (detail, help) are centred over the body. Below [`MIN_WIDTH`] × [`MIN_HEIGHT`] only a
//! "too small" note is drawn.

use ratatui::layout::Rect;

/// Header rows.
pub const HEADER_ROWS: u16 = 2;
/// Footer rows.
pub const FOOTER_ROWS: u16 = 2;
/// The tape sits beside the table from this width.
pub const WIDE_FROM: u16 = 150;
/// The tape sits below the table from this height (when not wide).
pub const TALL_FROM: u16 = 32;
/// Width of the tape pane beside the table (with borders).
pub const TAPE_WIDTH: u16 = 54;
/// Smallest usable screen.
pub const MIN_WIDTH: u16 = 40;
pub const MIN_HEIGHT: u16 = 10;

/// Which pane has the keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Focus {
    #[default]
    Table,
    Tape,
}

/// The regions of one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Regions {
    pub header: Rect,
    pub body: Rect,
    /// `None` when hidden (small screens, tape focused).
    pub table: Option<Rect>,
    /// `None` when hidden (small screens, table focused).
    pub tape: Option<Rect>,
    pub footer: Rect,
}

/// Splits the screen; `None` when it is too small to draw anything useful.
#[must_use]
pub fn regions(area: Rect, focus: Focus) -> Option<Regions> {
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        return None;
    }
    let header = Rect::new(area.x, area.y, area.width, HEADER_ROWS);
    let footer = Rect::new(area.x, area.bottom() - FOOTER_ROWS, area.width, FOOTER_ROWS);
    let body = Rect::new(
        area.x,
        area.y + HEADER_ROWS,
        area.width,
        area.height - HEADER_ROWS - FOOTER_ROWS,
    );
    let (table, tape) = if area.width >= WIDE_FROM {
        let table_w = body.width - TAPE_WIDTH;
        let table = Rect::new(body.x, body.y, table_w, body.height);
        let tape = Rect::new(body.x + table_w, body.y, TAPE_WIDTH, body.height);
        (Some(table), Some(tape))
    } else if area.height >= TALL_FROM {
        let tape_h = (body.height / 3).max(8);
        let table = Rect::new(body.x, body.y, body.width, body.height - tape_h);
        let tape = Rect::new(body.x, body.y + table.height, body.width, tape_h);
        (Some(table), Some(tape))
    } else {
        match focus {
            Focus::Table => (Some(body), None),
            Focus::Tape => (None, Some(body)),
        }
    };
    Some(Regions {
        header,
        body,
        table,
        tape,
        footer,
    })
}

/// Data rows the table shows in `table` (borders and the column header excluded).
#[must_use]
pub fn table_rows(table: Rect) -> usize {
    usize::from(table.height.saturating_sub(3))
}

/// Data rows the tape shows in `tape` (borders and the column header excluded).
#[must_use]
pub fn tape_rows(tape: Rect) -> usize {
    usize::from(tape.height.saturating_sub(3))
}

/// A popup of at most `w` × `h` cells centred in `area`.
#[must_use]
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

/// A column of the premium table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    /// Favourite star and a one-character row mark (`!` flag, `~` stale, `?` suspect).
    Mark,
    Rank,
    /// Name in the current language and the symbol (`비트코인 BTC`).
    Name,
    /// The name in the other language.
    OtherName,
    Domestic,
    Global,
    GlobalKrw,
    Premium,
    TetherPremium,
    Change,
    Value,
    Flags,
}

/// Every column in screen order, with its width in cells and its priority (0 is kept longest).
/// The name column's width is its minimum; it takes spare cells up to [`NAME_MAX`].
pub const COLUMNS: [(Column, u16, u8); 12] = [
    (Column::Mark, 2, 0),
    (Column::Rank, 3, 9),
    (Column::Name, 12, 0),
    (Column::OtherName, 16, 11),
    (Column::Domestic, 12, 1),
    (Column::Global, 11, 7),
    (Column::GlobalKrw, 13, 8),
    (Column::Premium, 8, 0),
    (Column::TetherPremium, 8, 3),
    (Column::Change, 7, 2),
    (Column::Value, 8, 4),
    (Column::Flags, 9, 10),
];
/// Widest the name column grows.
pub const NAME_MAX: u16 = 26;
/// Cells between columns.
pub const GAP: u16 = 1;

/// The columns that fit in `width` cells, in screen order, with their widths: whole columns are
/// dropped from the least important up, never squeezed.
#[must_use]
pub fn table_columns(width: u16) -> Vec<(Column, u16)> {
    let mut by_priority: Vec<usize> = (0..COLUMNS.len()).collect();
    by_priority.sort_by_key(|&i| COLUMNS[i].2);
    let mut keep = [false; COLUMNS.len()];
    let mut used: u16 = 0;
    for i in by_priority {
        let need = COLUMNS[i].1 + if used == 0 { 0 } else { GAP };
        if used + need <= width {
            used += need;
            keep[i] = true;
        }
    }
    // Spare cells widen the names: first the shown name, then the other language's.
    let spare = width.saturating_sub(used);
    let name_extra = spare.min(NAME_MAX - COLUMNS[2].1);
    let other_extra = (spare - name_extra).min(NAME_MAX - COLUMNS[3].1);
    COLUMNS
        .iter()
        .zip(keep)
        .filter(|(_, k)| *k)
        .map(|(&(col, w, _), _)| match col {
            Column::Name => (col, w + name_extra),
            Column::OtherName => (col, w + other_extra),
            _ => (col, w),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrow_tables_drop_whole_columns_by_priority() {
        let cols: Vec<Column> = table_columns(78).into_iter().map(|(c, _)| c).collect();
        assert!(cols.contains(&Column::Premium) && cols.contains(&Column::Domestic));
        assert!(!cols.contains(&Column::Flags) && !cols.contains(&Column::OtherName));
        let total: u16 = table_columns(78).iter().map(|(_, w)| w + GAP).sum();
        assert!(total <= 78 + GAP);
        assert_eq!(table_columns(200).len(), COLUMNS.len());
    }

    #[test]
    fn layouts_by_size() {
        let small = regions(Rect::new(0, 0, 80, 24), Focus::Table).unwrap();
        assert!(small.table.is_some() && small.tape.is_none());
        let small = regions(Rect::new(0, 0, 80, 24), Focus::Tape).unwrap();
        assert!(small.table.is_none() && small.tape.is_some());
        let tall = regions(Rect::new(0, 0, 120, 40), Focus::Table).unwrap();
        assert_eq!(tall.table.unwrap().x, tall.tape.unwrap().x);
        let wide = regions(Rect::new(0, 0, 200, 60), Focus::Table).unwrap();
        assert_eq!(wide.table.unwrap().y, wide.tape.unwrap().y);
        assert!(regions(Rect::new(0, 0, 30, 8), Focus::Table).is_none());
    }
}
