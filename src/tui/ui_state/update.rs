//! Applying an [`Action`] to the [`UiState`].

use std::sync::Arc;

use crate::config::{ClockZone, DOMESTIC_VENUES, Language, OVERSEAS_VENUES};
use crate::model::{Millis, Venue};
use crate::state::snapshot::{Pair, Snapshot};
use crate::tui::keymap::{Action, WHEEL_ROWS};
use crate::tui::labels::venue_title;
use crate::tui::layout::{self, Focus};

use super::{MIN_USD_STEPS, UiState};

/// What an action asks of the world outside the UI state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    Quit,
    /// Switch the premium columns to this venue pair (sent to the state task).
    SetPair(Pair),
    /// Persist the favourites (the whole set, sorted).
    SaveFavourites(Vec<String>),
}

/// The venue after `current` in `venues`, wrapping.
fn cycle(venues: &[Venue], current: Venue) -> Venue {
    let i = venues.iter().position(|&v| v == current).unwrap_or(0);
    venues[(i + 1) % venues.len()]
}

impl UiState {
    /// Applies `action` as of `now`; returns what the loop must do besides redrawing.
    pub fn update(&mut self, action: Action, snap: &Snapshot, now: Millis) -> Option<Effect> {
        match action {
            Action::Quit => return Some(Effect::Quit),
            Action::Up => self.move_by(snap, -1),
            Action::Down => self.move_by(snap, 1),
            Action::PageUp => self.move_by(snap, -self.page()),
            Action::PageDown => self.move_by(snap, self.page()),
            Action::Top => self.move_by(snap, isize::MIN / 2),
            Action::Bottom => self.move_by(snap, isize::MAX / 2),
            Action::Scroll { up, column, row } => self.scroll(snap, up, column, row),
            Action::StartFilter => {
                self.filter_editing = true;
                self.focus = Focus::Table;
            }
            Action::FilterInput(c) => self.edit_filter(snap, |f| f.push(c)),
            Action::FilterBackspace => self.edit_filter(snap, |f| {
                f.pop();
            }),
            Action::FilterClear => self.edit_filter(snap, String::clear),
            Action::FilterAccept => self.filter_editing = false,
            Action::Back => self.back(snap),
            Action::NextSort => {
                let column = self.sort.column.next();
                self.sort.column = column;
                self.sort.descending = column.default_descending();
                self.refresh(snap);
            }
            Action::ToggleSortDirection => {
                self.sort.descending = !self.sort.descending;
                self.refresh(snap);
            }
            Action::ToggleFavourite => return self.toggle_favourite(snap),
            Action::CycleDomestic | Action::CycleOverseas => {
                return Some(self.switch_pair(snap, action, now));
            }
            _ => self.toggle(action, snap),
        }
        None
    }

    /// The switches: focus, freeze, tape minimum, language, clock, popups.
    fn toggle(&mut self, action: Action, snap: &Snapshot) {
        match action {
            Action::ToggleFocus => {
                self.focus = match self.focus {
                    Focus::Table => Focus::Tape,
                    Focus::Tape => Focus::Table,
                };
            }
            Action::ToggleFreeze => self.toggle_freeze(snap),
            Action::RaiseThreshold => {
                self.min_usd_step = (self.min_usd_step + 1).min(MIN_USD_STEPS.len() - 1);
                self.tape_offset = 0;
            }
            Action::LowerThreshold => {
                self.min_usd_step = self.min_usd_step.saturating_sub(1);
                self.tape_offset = 0;
            }
            Action::ToggleLanguage => {
                self.language = match self.language {
                    Language::Ko => Language::En,
                    Language::En => Language::Ko,
                };
                // The name column sorts by the shown name.
                self.refresh(snap);
            }
            Action::ToggleClock => {
                self.clock = match self.clock {
                    ClockZone::Kst => ClockZone::Utc,
                    ClockZone::Utc => ClockZone::Kst,
                };
            }
            Action::ToggleHelp => self.help = !self.help,
            Action::OpenDetail => {
                self.detail = !self.detail && self.selected_symbol().is_some();
            }
            _ => {}
        }
    }

    /// Rows a page moves: the table's visible rows on the current screen.
    fn page(&self) -> isize {
        let rows = layout::regions(self.screen, self.focus)
            .and_then(|r| match self.focus {
                Focus::Table => r.table.map(layout::table_rows),
                Focus::Tape => r.tape.map(layout::tape_rows),
            })
            .unwrap_or(10);
        isize::try_from(rows.max(1)).unwrap_or(10)
    }

    /// Moves the selection (table, or detail) or scrolls the tape by `delta` rows.
    fn move_by(&mut self, snap: &Snapshot, delta: isize) {
        if self.focus == Focus::Tape && !self.detail {
            let max = self.tape(snap).count().saturating_sub(1);
            self.tape_offset = self.tape_offset.saturating_add_signed(delta).min(max);
        } else {
            let pos = self.selected_pos().saturating_add_signed(delta);
            self.select_pos(snap, pos);
        }
    }

    /// The mouse wheel scrolls the pane under the pointer.
    fn scroll(&mut self, snap: &Snapshot, up: bool, column: u16, row: u16) {
        let Some(regions) = layout::regions(self.screen, self.focus) else {
            return;
        };
        let at = ratatui::layout::Position::new(column, row);
        let over_tape = regions.tape.is_some_and(|t| t.contains(at));
        let rows = isize::try_from(WHEEL_ROWS).unwrap_or(3);
        let delta = if up { -rows } else { rows };
        let focus = self.focus;
        self.focus = if over_tape { Focus::Tape } else { Focus::Table };
        self.move_by(snap, delta);
        self.focus = focus;
    }

    fn edit_filter(&mut self, snap: &Snapshot, edit: impl FnOnce(&mut String)) {
        edit(&mut self.filter);
        self.refresh(snap);
        self.select_pos(snap, 0);
    }

    /// Esc: closes help, else the detail, else the filter.
    fn back(&mut self, snap: &Snapshot) {
        if self.help {
            self.help = false;
        } else if self.detail {
            self.detail = false;
        } else if self.filter_editing || !self.filter.is_empty() {
            self.filter_editing = false;
            self.filter.clear();
            self.refresh(snap);
        }
    }

    fn toggle_favourite(&mut self, snap: &Snapshot) -> Option<Effect> {
        let sym = self.selected_symbol()?.to_string();
        if !self.favourites.remove(&sym) {
            self.favourites.insert(sym);
        }
        self.refresh(snap);
        Some(Effect::SaveFavourites(
            self.favourites.iter().cloned().collect(),
        ))
    }

    fn switch_pair(&mut self, snap: &Snapshot, action: Action, now: Millis) -> Effect {
        let mut pair = self.current_pair(snap);
        if action == Action::CycleDomestic {
            pair.domestic = cycle(DOMESTIC_VENUES, pair.domestic);
        } else {
            pair.global = cycle(OVERSEAS_VENUES, pair.global);
        }
        self.pending_pair = Some(pair);
        let text = format!(
            "{} ↔ {}",
            venue_title(pair.domestic),
            venue_title(pair.global)
        );
        self.set_status(text, false, now);
        Effect::SetPair(pair)
    }

    fn toggle_freeze(&mut self, snap: &Snapshot) {
        self.frozen = match self.frozen {
            Some(_) => None,
            None => Some(Arc::from(snap.recent_liquidations.as_slice())),
        };
        self.tape_offset = 0;
    }
}
