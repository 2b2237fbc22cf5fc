//! Everything the dashboard remembers between frames: sort, filter, selection, favourites, focus,
//! tape freeze and threshold, language, clock, popups, price flashes and the footer status.
//!
//! Owned by the UI loop alone (no locks). Keys become [`Action`](super::keymap::Action)s that
//! [`UiState::update`] applies; what needs the outside world (quit, a venue switch, saving
//! favourites) comes back as an [`Effect`] for the loop to carry out, so this stays testable.

mod update;
mod view;

use std::cell::Cell;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use ratatui::layout::Rect;

use crate::config::{ClockZone, Language, TuiConfig};
use crate::history::PremiumSample;
use crate::model::{Liquidation, Millis};
use crate::state::snapshot::{CoinRow, Pair, Snapshot};
use crate::tui::layout::Focus;
use crate::tui::theme::Theme;

pub use update::Effect;
pub use view::{Sort, SortColumn, display_name, matches};

/// Minimum sizes the tape can filter by (`+`/`-` step through them), in USD.
pub const MIN_USD_STEPS: [f64; 7] = [0.0, 1e3, 1e4, 5e4, 1e5, 5e5, 1e6];
/// How long a changed price stays highlighted.
pub const FLASH_MS: Millis = 700;
/// How long an informational footer message stays.
pub const STATUS_MS: Millis = 4_000;
/// How long an error footer message stays.
pub const ERROR_STATUS_MS: Millis = 15_000;

/// Premium history of the coin in the detail view, fetched off the UI loop.
#[derive(Debug, Clone, PartialEq)]
pub enum SparkData {
    Loading,
    Ready(Vec<PremiumSample>),
    Failed(String),
}

/// The detail view's history and which coin it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct Spark {
    pub symbol: String,
    pub data: SparkData,
    /// When it was requested (refetched each minute while the detail stays open).
    pub requested_ms: Millis,
}

/// A footer message (venue switch, save failure).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub text: String,
    pub error: bool,
    pub until_ms: Millis,
}

/// A recent price change of a row's domestic price.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flash {
    pub until_ms: Millis,
    pub up: bool,
}

/// The dashboard's own state.
#[derive(Debug)]
pub struct UiState {
    pub language: Language,
    pub clock: ClockZone,
    pub theme: Theme,
    pub sort: Sort,
    pub filter: String,
    /// The filter line has the keys.
    pub filter_editing: bool,
    pub favourites: BTreeSet<String>,
    pub focus: Focus,
    pub help: bool,
    pub detail: bool,
    pub spark: Option<Spark>,
    /// Index into [`MIN_USD_STEPS`].
    pub min_usd_step: usize,
    /// The tape as it was when frozen (`Space`); `None` = live.
    pub frozen: Option<Arc<[Liquidation]>>,
    /// Rows scrolled off the top of the tape.
    pub tape_offset: usize,
    pub flashes: HashMap<String, Flash>,
    pub status: Option<Status>,
    /// A venue pair asked for that the state task has not applied yet.
    pub pending_pair: Option<Pair>,
    /// The terminal's size, for page lengths and mouse hit tests.
    pub screen: Rect,
    /// Visible rows: indices into the snapshot's coins, in display order.
    view: Vec<usize>,
    selected: Option<String>,
    selected_pos: usize,
    /// First visible row; draw keeps the selection in sight (the same job as ratatui's
    /// `TableState` offset, without needing `&mut` in draw).
    table_offset: Cell<usize>,
}

impl UiState {
    /// A fresh state with the configured language, clock and theme.
    #[must_use]
    pub fn new(cfg: &TuiConfig, theme: Theme, favourites: BTreeSet<String>) -> Self {
        UiState {
            language: cfg.language,
            clock: cfg.clock,
            theme,
            sort: Sort::default(),
            filter: String::new(),
            filter_editing: false,
            favourites,
            focus: Focus::Table,
            help: false,
            detail: false,
            spark: None,
            min_usd_step: 0,
            frozen: None,
            tape_offset: 0,
            flashes: HashMap::new(),
            status: None,
            pending_pair: None,
            screen: Rect::new(0, 0, 80, 24),
            view: Vec::new(),
            selected: None,
            selected_pos: 0,
            table_offset: Cell::new(0),
        }
    }

    /// Visible rows (indices into `snap.coins`) in display order.
    #[must_use]
    pub fn view(&self) -> &[usize] {
        &self.view
    }

    /// Position of the selection in [`UiState::view`].
    #[must_use]
    pub fn selected_pos(&self) -> usize {
        self.selected_pos
    }

    /// The selected coin's symbol.
    #[must_use]
    pub fn selected_symbol(&self) -> Option<&str> {
        self.selected.as_deref()
    }

    /// The selected coin's row in `snap`.
    #[must_use]
    pub fn selected_row<'a>(&self, snap: &'a Snapshot) -> Option<&'a CoinRow> {
        let sym = self.selected.as_deref()?;
        self.view
            .get(self.selected_pos)
            .and_then(|&i| snap.coins.get(i))
            .filter(|c| c.symbol == sym)
            .or_else(|| snap.coin(sym))
    }

    /// The first visible row for a table showing `rows` rows: moves only as far as needed to keep
    /// the selection in sight, and remembers the result for the next frame.
    #[must_use]
    pub fn table_offset(&self, rows: usize) -> usize {
        let mut offset = self.table_offset.get();
        let sel = self.selected_pos;
        if rows == 0 {
            return 0;
        }
        if sel < offset {
            offset = sel;
        } else if sel >= offset + rows {
            offset = sel + 1 - rows;
        }
        offset = offset.min(self.view.len().saturating_sub(rows));
        self.table_offset.set(offset);
        offset
    }

    /// The tape's minimum size in USD.
    #[must_use]
    pub fn min_usd(&self) -> f64 {
        MIN_USD_STEPS[self.min_usd_step.min(MIN_USD_STEPS.len() - 1)]
    }

    /// The tape to show (frozen or live), newest first, at or above the minimum size.
    pub fn tape<'a>(&'a self, snap: &'a Snapshot) -> impl Iterator<Item = &'a Liquidation> {
        let min = self.min_usd();
        let events: &[Liquidation] = self.frozen.as_deref().unwrap_or(&snap.recent_liquidations);
        events.iter().filter(move |l| l.notional_usd >= min)
    }

    /// The pair venue switches start from: the one asked for, until the state task applies it.
    #[must_use]
    pub fn current_pair(&self, snap: &Snapshot) -> Pair {
        self.pending_pair.unwrap_or(snap.pair)
    }

    /// Shows a footer message until `now + STATUS_MS` (errors longer).
    pub fn set_status(&mut self, text: String, error: bool, now: Millis) {
        let until_ms = now + if error { ERROR_STATUS_MS } else { STATUS_MS };
        self.status = Some(Status {
            text,
            error,
            until_ms,
        });
    }

    /// A new snapshot arrived: highlight domestic prices that moved, forget an applied pending
    /// pair, recompute the view.
    pub fn on_snapshot(&mut self, old: &Snapshot, new: &Snapshot, now: Millis) {
        if self.pending_pair == Some(new.pair) {
            self.pending_pair = None;
        }
        self.flashes.retain(|_, f| f.until_ms > now);
        if old.pair == new.pair {
            let dom = new.pair.domestic;
            let before: HashMap<&str, f64> = old
                .coins
                .iter()
                .filter_map(|c| Some((c.symbol.as_str(), c.prices.get(&dom)?.price)))
                .collect();
            for coin in &new.coins {
                let (Some(p), Some(&b)) = (coin.prices.get(&dom), before.get(coin.symbol.as_str()))
                else {
                    continue;
                };
                if (p.price - b).abs() > f64::EPSILON * b.abs() {
                    let flash = Flash {
                        until_ms: now + FLASH_MS,
                        up: p.price > b,
                    };
                    self.flashes.insert(coin.symbol.clone(), flash);
                }
            }
        }
        self.refresh(new);
    }

    /// Housekeeping of the once-a-second tick: expire the status line and finished flashes.
    pub fn on_tick(&mut self, now: Millis) {
        if self.status.as_ref().is_some_and(|s| s.until_ms <= now) {
            self.status = None;
        }
        self.flashes.retain(|_, f| f.until_ms > now);
    }

    /// The coin whose history the detail view needs and does not have yet (or that is a minute
    /// old): the loop fetches it.
    #[must_use]
    pub fn wants_history(&self, now: Millis) -> Option<&str> {
        if !self.detail {
            return None;
        }
        let sym = self.selected.as_deref()?;
        match &self.spark {
            Some(s) if s.symbol == sym && now - s.requested_ms < 60_000 => None,
            _ => Some(sym),
        }
    }

    /// Records that history for `symbol` was requested at `now`.
    pub fn history_requested(&mut self, symbol: &str, now: Millis) {
        let keep = self
            .spark
            .as_ref()
            .filter(|s| s.symbol == symbol)
            .map(|s| s.data.clone());
        self.spark = Some(Spark {
            symbol: symbol.to_string(),
            data: keep.unwrap_or(SparkData::Loading),
            requested_ms: now,
        });
    }

    /// History for `symbol` arrived (or failed); ignored if the detail moved on to another coin.
    pub fn history_arrived(&mut self, symbol: &str, data: SparkData) {
        if let Some(s) = self.spark.as_mut().filter(|s| s.symbol == symbol) {
            s.data = data;
        }
    }
}
