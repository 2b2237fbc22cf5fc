//! The premium table: one row per coin, columns by priority ([`layout::table_columns`]), written
//! straight into the buffer for the visible rows only (a 250-coin snapshot costs what its ~50
//! visible rows cost).
//!
//! Row marks read without colour: `★` favourite, `!` venue caution/warning/delisting, `~` stale
//! (the row is also dimmed), `?` suspect premium or ticker clash.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use crate::config::Language;
use crate::model::Millis;
use crate::state::snapshot::{CoinRow, Snapshot};
use crate::tui::labels::{Labels, flag_label, labels, venue_title};
use crate::tui::layout::{self, Column, Focus, GAP};
use crate::tui::text::{compact, eok_jo, krw, signed_percent, usd};
use crate::tui::theme::Theme;
use crate::tui::ui_state::{SortColumn, UiState, display_name};
use crate::tui::widgets::{Align, pane, put};

/// Draws the table pane into `area`.
pub fn render(buf: &mut Buffer, area: Rect, snap: &Snapshot, ui: &UiState, now: Millis) {
    let theme = &ui.theme;
    let l = labels(ui.language);
    let (shown, total) = (ui.view().len(), snap.coins.len());
    let count = if shown == total {
        format!("{total}")
    } else {
        format!("{shown}/{total}")
    };
    let title = Line::from(vec![
        Span::styled(format!(" {} ", l.premium), theme.title()),
        Span::styled(format!("{count} "), theme.muted()),
    ]);
    let inner = pane(buf, area, title, None, ui.focus == Focus::Table, theme);
    if inner.height < 2 || inner.width < 4 {
        return;
    }
    let cols = layout::table_columns(inner.width);
    header_row(buf, inner, &cols, snap, ui, l);
    let rows = layout::table_rows(area);
    if ui.view().is_empty() {
        let note = if snap.coins.is_empty() {
            l.waiting
        } else {
            l.no_rows
        };
        let y = inner.y + 1 + (inner.height - 1) / 2;
        let w = u16::try_from(crate::tui::text::width(note))
            .unwrap_or(0)
            .min(inner.width);
        put(
            buf,
            (inner.x + (inner.width - w) / 2, y),
            w,
            note,
            Align::Left,
            theme.muted(),
            theme,
        );
        return;
    }
    let offset = ui.table_offset(rows);
    for (line, pos) in (offset..ui.view().len()).take(rows).enumerate() {
        let Some(coin) = snap.coins.get(ui.view()[pos]) else {
            continue;
        };
        let y = inner.y + 1 + u16::try_from(line).unwrap_or(0);
        let row_area = Rect::new(inner.x, y, inner.width, 1);
        draw_row(buf, row_area, &cols, (pos, coin), snap, ui, now);
    }
}

fn header_title(col: Column, snap: &Snapshot, ui: &UiState, l: &Labels) -> String {
    let pair = ui.current_pair(snap);
    match col {
        Column::Mark => String::new(),
        Column::Rank => "#".into(),
        Column::Name => l.coin.into(),
        Column::OtherName => l.other_name.into(),
        Column::Domestic => format!("{} ₩", venue_title(pair.domestic)),
        Column::Global => format!("{} $", venue_title(pair.global)),
        Column::GlobalKrw => ui.theme.symbols.to_krw.into(),
        Column::Premium => l.premium.into(),
        Column::TetherPremium => l.usdt_premium.into(),
        Column::Change => l.change.into(),
        Column::Value => l.value.into(),
        Column::Flags => l.flags.into(),
    }
}

fn align(col: Column) -> Align {
    match col {
        Column::Mark | Column::Name | Column::OtherName | Column::Flags => Align::Left,
        _ => Align::Right,
    }
}

fn sorted_by(col: Column) -> Option<SortColumn> {
    Some(match col {
        Column::Name => SortColumn::Name,
        Column::Domestic => SortColumn::DomesticPrice,
        Column::Global => SortColumn::GlobalPrice,
        Column::GlobalKrw => SortColumn::GlobalKrw,
        Column::Premium => SortColumn::Premium,
        Column::TetherPremium => SortColumn::TetherPremium,
        Column::Change => SortColumn::Change,
        Column::Value => SortColumn::Value,
        _ => return None,
    })
}

fn header_row(
    buf: &mut Buffer,
    inner: Rect,
    cols: &[(Column, u16)],
    snap: &Snapshot,
    ui: &UiState,
    l: &Labels,
) {
    let theme = &ui.theme;
    let mut x = inner.x;
    for &(col, w) in cols {
        let mut style = theme.title();
        if sorted_by(col) == Some(ui.sort.column) {
            style = style.add_modifier(Modifier::UNDERLINED);
        }
        put(
            buf,
            (x, inner.y),
            w,
            &header_title(col, snap, ui, l),
            align(col),
            style,
            theme,
        );
        x += w + GAP;
    }
}

fn has_flag(coin: &CoinRow, kinds: &[&str]) -> bool {
    coin.flags
        .iter()
        .any(|f| kinds.contains(&f.split_once(':').map_or(f.as_str(), |(k, _)| k)))
}

fn mark(coin: &CoinRow, ui: &UiState) -> String {
    let sym = &ui.theme.symbols;
    let fav = if ui.favourites.contains(&coin.symbol) {
        sym.favourite
    } else {
        " "
    };
    let flag = if has_flag(coin, &["warning", "caution", "delisting"]) {
        "!"
    } else if coin.stale {
        "~"
    } else if has_flag(coin, &["suspect", "ticker_clash"]) {
        "?"
    } else {
        " "
    };
    format!("{fav}{flag}")
}

fn premium_cell(coin: &CoinRow, l: &Labels, theme: &Theme) -> (String, Style) {
    if has_flag(coin, &["no_global_market"]) {
        (l.no_global.into(), theme.muted())
    } else if has_flag(coin, &["awaiting_global_quote"]) {
        (l.awaiting.into(), theme.muted())
    } else if coin.stale && coin.premium_percent.is_none() {
        (l.stale.into(), theme.warn())
    } else {
        let p = coin.premium_percent;
        (signed_percent(p, theme.symbols.none), theme.signed(p))
    }
}

fn value_text(v: f64, lang: Language) -> String {
    match lang {
        Language::Ko => eok_jo(v),
        Language::En => compact(v),
    }
}

/// `비트코인 BTC` (the name in the current language and the symbol), or the other language's name.
fn names(col: Column, coin: &CoinRow, lang: Language) -> String {
    if col == Column::OtherName {
        let other = match lang {
            Language::Ko => coin.name_en.as_deref(),
            Language::En => coin.name_ko.as_deref(),
        };
        return other.unwrap_or("").to_string();
    }
    let name = display_name(coin, lang);
    if name == coin.symbol {
        name.to_string()
    } else {
        format!("{name} {}", coin.symbol)
    }
}

fn theme_for_name(col: Column, theme: &Theme) -> Style {
    if col == Column::OtherName {
        theme.muted()
    } else {
        Style::new()
    }
}

/// Short labels of the venue flags, one per kind (`주의` once for two cautions).
fn flag_labels(coin: &CoinRow, l: &Labels) -> String {
    let mut text = String::new();
    let mut seen: Vec<&str> = Vec::new();
    for label in coin.flags.iter().filter_map(|f| flag_label(l, f)) {
        if seen.contains(&label) {
            continue;
        }
        seen.push(label);
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(label);
    }
    text
}

/// The text and style of one cell.
fn cell(
    col: Column,
    (pos, coin): (usize, &CoinRow),
    snap: &Snapshot,
    ui: &UiState,
    now: Millis,
) -> (String, Style) {
    let theme = &ui.theme;
    let l = labels(ui.language);
    let pair = snap.pair;
    let dom = coin.prices.get(&pair.domestic);
    let none = || (theme.symbols.none.to_string(), theme.muted());
    match col {
        Column::Mark => (mark(coin, ui), theme.warn()),
        Column::Rank => ((pos + 1).to_string(), theme.muted()),
        Column::Name | Column::OtherName => {
            (names(col, coin, ui.language), theme_for_name(col, theme))
        }
        Column::Domestic => dom.map_or_else(none, |p| {
            let style = match ui.flashes.get(&coin.symbol) {
                Some(f) if f.until_ms > now => theme.flash(f.up),
                _ => Style::new(),
            };
            (krw(p.price), style)
        }),
        Column::Global => coin
            .prices
            .get(&pair.global)
            .map_or_else(none, |p| (usd(p.price), Style::new())),
        Column::GlobalKrw => coin
            .global_price_krw
            .map_or_else(none, |v| (krw(v), Style::new())),
        Column::Premium => premium_cell(coin, l, theme),
        Column::TetherPremium => {
            let p = coin.premium_usdt_percent;
            (signed_percent(p, theme.symbols.none), theme.signed(p))
        }
        Column::Change => {
            let c = dom.and_then(|p| p.change_percent);
            (signed_percent(c, theme.symbols.none), theme.signed(c))
        }
        Column::Value => dom
            .and_then(|p| p.volume)
            .map_or_else(none, |v| (value_text(v, ui.language), Style::new())),
        Column::Flags => (flag_labels(coin, l), theme.warn()),
    }
}

fn draw_row(
    buf: &mut Buffer,
    area: Rect,
    cols: &[(Column, u16)],
    item: (usize, &CoinRow),
    snap: &Snapshot,
    ui: &UiState,
    now: Millis,
) {
    let theme = &ui.theme;
    let (pos, coin) = item;
    let dimmed = coin.stale
        || coin
            .prices
            .get(&snap.pair.domestic)
            .is_some_and(|p| p.stale);
    let mut x = area.x;
    for &(col, w) in cols {
        let (text, cell_style) = cell(col, item, snap, ui, now);
        let cell_style = if dimmed {
            cell_style.patch(theme.stale())
        } else {
            cell_style
        };
        put(buf, (x, area.y), w, &text, align(col), cell_style, theme);
        x += w + GAP;
    }
    if pos == ui.selected_pos() {
        let highlight = if ui.focus == Focus::Table || ui.detail {
            theme.selected()
        } else {
            Style::new().add_modifier(Modifier::BOLD)
        };
        buf.set_style(area, highlight);
    }
}
