//! The dashboard: screens at three sizes (insta), colours and `NO_COLOR`, Korean widths, and the
//! real UI loop driven by scripted keys and pushed snapshots on a `TestBackend`.
//!
//! `tui/fixtures.rs` builds the market, `tui/harness.rs` renders and reads screens,
//! `tui/widgets.rs` checks frames, `tui/helpers.rs` checks the widget helpers against ratatui,
//! `tui/app.rs` runs the loop, `tui/frames.rs` counts its frames.

#[path = "tui/app.rs"]
mod app;
#[path = "tui/fixtures.rs"]
mod fixtures;
#[path = "tui/frames.rs"]
mod frames;
#[path = "tui/harness.rs"]
mod harness;
#[path = "tui/helpers.rs"]
mod helpers;
#[path = "tui/widgets.rs"]
mod widgets;

/// Snapshots live in `tests/snapshots/tui__<name>.snap`.
fn assert_screen(name: &str, screen: &str) {
    insta::assert_snapshot!(name, screen);
}
