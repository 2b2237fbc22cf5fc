//! The visible rows: the snapshot's coins filtered (symbol, English, Korean, 초성), sorted by the
//! chosen column (favourites pinned on top, unknown values last in both directions), and the
//! selection kept on the same coin while rows move.

use std::cmp::Ordering;

use crate::config::Language;
use crate::model::Venue;
use crate::state::snapshot::{CoinRow, Pair, Snapshot};
use crate::tui::text::fuzzy_contains;

use super::UiState;

/// A column the table can be sorted by (`s` cycles in this order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortColumn {
    Premium,
    TetherPremium,
    Change,
    Value,
    Name,
    DomesticPrice,
    GlobalPrice,
    /// The global price in KRW (`→₩`).
    GlobalKrw,
}

impl SortColumn {
    pub const ALL: [SortColumn; 8] = [
        SortColumn::Premium,
        SortColumn::TetherPremium,
        SortColumn::Change,
        SortColumn::Value,
        SortColumn::Name,
        SortColumn::DomesticPrice,
        SortColumn::GlobalPrice,
        SortColumn::GlobalKrw,
    ];

    /// The next column of the cycle.
    #[must_use]
    pub fn next(self) -> SortColumn {
        let i = SortColumn::ALL.iter().position(|&c| c == self).unwrap_or(0);
        SortColumn::ALL[(i + 1) % SortColumn::ALL.len()]
    }

    /// Numbers start largest first, names alphabetically.
    #[must_use]
    pub fn default_descending(self) -> bool {
        self != SortColumn::Name
    }
}

/// Sort column and direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    pub column: SortColumn,
    pub descending: bool,
}

impl Default for Sort {
    fn default() -> Self {
        Sort {
            column: SortColumn::Premium,
            descending: true,
        }
    }
}

/// The name a row is shown (and sorted) by in `lang`, falling back to the other name, then the
/// symbol.
#[must_use]
pub fn display_name(row: &CoinRow, lang: Language) -> &str {
    let (first, second) = match lang {
        Language::Ko => (&row.name_ko, &row.name_en),
        Language::En => (&row.name_en, &row.name_ko),
    };
    first
        .as_deref()
        .or(second.as_deref())
        .unwrap_or(&row.symbol)
}

fn number(row: &CoinRow, column: SortColumn, pair: Pair) -> Option<f64> {
    let at = |v: Venue| row.prices.get(&v);
    match column {
        SortColumn::Premium => row.premium_percent,
        SortColumn::TetherPremium => row.premium_usdt_percent,
        SortColumn::Change => at(pair.domestic).and_then(|p| p.change_percent),
        SortColumn::Value => at(pair.domestic).and_then(|p| p.volume),
        SortColumn::DomesticPrice => at(pair.domestic).map(|p| p.price),
        SortColumn::GlobalPrice => at(pair.global).map(|p| p.price),
        SortColumn::GlobalKrw => row.global_price_krw,
        SortColumn::Name => None,
    }
    .filter(|v| v.is_finite())
}

/// Whether the row matches the filter text (empty matches all).
#[must_use]
pub fn matches(row: &CoinRow, query: &str) -> bool {
    let q = query.trim();
    q.is_empty()
        || fuzzy_contains(&row.symbol, q)
        || row.name_en.as_deref().is_some_and(|n| fuzzy_contains(n, q))
        || row.name_ko.as_deref().is_some_and(|n| fuzzy_contains(n, q))
}

impl UiState {
    /// Recomputes the visible rows from `snap` and moves the selection to where its coin went.
    pub fn refresh(&mut self, snap: &Snapshot) {
        let mut view: Vec<usize> = (0..snap.coins.len())
            .filter(|&i| matches(&snap.coins[i], &self.filter))
            .collect();
        let (sort, lang, pair) = (self.sort, self.language, snap.pair);
        let fav = |row: &CoinRow| self.favourites.contains(&row.symbol);
        // Stable: ties keep the snapshot's order (traded value, then symbol).
        view.sort_by(|&a, &b| {
            let (ra, rb) = (&snap.coins[a], &snap.coins[b]);
            fav(rb)
                .cmp(&fav(ra))
                .then_with(|| compare(ra, rb, sort, lang, pair))
        });
        self.view = view;
        self.reselect(snap);
    }

    fn reselect(&mut self, snap: &Snapshot) {
        let found = self
            .selected
            .as_deref()
            .and_then(|sym| self.view.iter().position(|&i| snap.coins[i].symbol == sym));
        if let Some(pos) = found {
            self.selected_pos = pos;
        } else {
            self.selected_pos = self.selected_pos.min(self.view.len().saturating_sub(1));
            self.selected = self
                .view
                .get(self.selected_pos)
                .map(|&i| snap.coins[i].symbol.clone());
        }
    }

    /// Moves the selection to position `pos` of the view (clamped).
    pub(super) fn select_pos(&mut self, snap: &Snapshot, pos: usize) {
        self.selected_pos = pos.min(self.view.len().saturating_sub(1));
        self.selected = self
            .view
            .get(self.selected_pos)
            .and_then(|&i| snap.coins.get(i))
            .map(|c| c.symbol.clone());
    }
}

fn compare(a: &CoinRow, b: &CoinRow, sort: Sort, lang: Language, pair: Pair) -> Ordering {
    if sort.column == SortColumn::Name {
        let ord = display_name(a, lang).cmp(display_name(b, lang));
        return if sort.descending { ord.reverse() } else { ord };
    }
    match (number(a, sort.column, pair), number(b, sort.column, pair)) {
        (Some(x), Some(y)) => {
            let ord = x.total_cmp(&y);
            if sort.descending { ord.reverse() } else { ord }
        }
        // Unknown values go last whichever the direction.
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}
