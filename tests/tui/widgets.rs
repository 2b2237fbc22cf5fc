//! Whole-screen snapshots at 80×24, 120×40 and 200×60 with a fixed clock, and checks of what
//! snapshots cannot show: colours, `NO_COLOR`, dimmed stale rows, cell widths of Korean text.

use std::collections::BTreeSet;

use kimp::config::ColorConvention;
use kimp::history::PremiumSample;
use kimp::model::Venue;
use kimp::tui::keymap::Action;
use kimp::tui::theme::Theme;
use kimp::tui::ui_state::{SparkData, UiState};
use ratatui::style::{Color, Modifier};
use unicode_width::UnicodeWidthStr;

use crate::assert_screen;
use crate::fixtures::{NOW, snapshot};
use crate::harness::{cells, find_row, render, text, ui_for, ui_with};

fn act(ui: &mut UiState, snap: &kimp::state::snapshot::Snapshot, actions: &[Action]) {
    for &a in actions {
        let _ = ui.update(a, snap, NOW);
    }
}

#[test]
fn screen_80x24() {
    let snap = snapshot();
    let ui = ui_for(&snap, 80, 24);
    let screen = text(&render(&snap, &ui, 80, 24, NOW));
    assert!(screen.contains("비트코인"), "{screen}");
    assert_screen("screen_80x24", &screen);
}

#[test]
fn screen_80x24_tape_focused() {
    let snap = snapshot();
    let mut ui = ui_for(&snap, 80, 24);
    act(&mut ui, &snap, &[Action::ToggleFocus]);
    let screen = text(&render(&snap, &ui, 80, 24, NOW));
    assert!(
        screen.contains("LONG") && !screen.contains("비트코인 BTC"),
        "{screen}"
    );
    assert_screen("screen_80x24_tape", &screen);
}

#[test]
fn screen_120x40() {
    let snap = snapshot();
    let ui = ui_for(&snap, 120, 40);
    assert_screen("screen_120x40", &text(&render(&snap, &ui, 120, 40, NOW)));
}

#[test]
fn screen_200x60() {
    let snap = snapshot();
    let ui = ui_for(&snap, 200, 60);
    let screen = text(&render(&snap, &ui, 200, 60, NOW));
    // Wide: every column, the tape beside the table.
    assert!(
        screen.contains("English") && screen.contains("표시"),
        "{screen}"
    );
    assert_screen("screen_200x60", &screen);
}

#[test]
fn screen_english_utc_sorted_by_name() {
    let snap = snapshot();
    let mut ui = ui_for(&snap, 120, 40);
    let to_name = [Action::NextSort; 4];
    act(&mut ui, &snap, &to_name);
    act(
        &mut ui,
        &snap,
        &[Action::ToggleLanguage, Action::ToggleClock],
    );
    let screen = text(&render(&snap, &ui, 120, 40, NOW));
    assert!(screen.contains("00:00:00 UTC"), "{screen}");
    assert_screen("screen_120x40_english", &screen);
}

#[test]
fn screen_ascii_symbols() {
    let snap = snapshot();
    let theme = Theme::new(ColorConvention::Korean, false, true);
    let ui = ui_with(&snap, 80, 24, &theme, BTreeSet::from(["ETH".to_string()]));
    let screen = text(&render(&snap, &ui, 80, 24, NOW));
    for glyph in ["●", "▰", "…", "│", "★", "↔"] {
        assert!(!screen.contains(glyph), "{glyph} in ASCII mode:\n{screen}");
    }
    assert_screen("screen_80x24_ascii", &screen);
}

#[test]
fn screen_help_fits_80x24() {
    let snap = snapshot();
    let mut ui = ui_for(&snap, 80, 24);
    act(&mut ui, &snap, &[Action::ToggleHelp]);
    let screen = text(&render(&snap, &ui, 80, 24, NOW));
    for key in ["Ctrl", "q C-c", "Space", "Enter", "Tab"] {
        assert!(
            screen.contains(key) || key == "Ctrl",
            "{key} missing:\n{screen}"
        );
    }
    assert_screen("screen_help_80x24", &screen);
}

fn samples() -> Vec<PremiumSample> {
    (0..90)
        .map(|i| PremiumSample {
            minute_ms: NOW - (90 - i) * 60_000,
            coin: "BTC".into(),
            domestic: Venue::Upbit,
            global: Venue::Binance,
            premium_percent: Some(1.5 + (i % 30) as f64 * 0.05),
            premium_usdt_percent: Some(0.3),
        })
        .collect()
}

#[test]
fn screen_detail_with_history() {
    let snap = snapshot();
    let mut ui = ui_for(&snap, 120, 40);
    act(
        &mut ui,
        &snap,
        &[
            Action::StartFilter,
            Action::FilterInput('B'),
            Action::FilterInput('T'),
            Action::FilterInput('C'),
            Action::FilterAccept,
            Action::OpenDetail,
        ],
    );
    assert_eq!(ui.wants_history(NOW), Some("BTC"));
    ui.history_requested("BTC", NOW);
    let loading = text(&render(&snap, &ui, 120, 40, NOW));
    assert!(loading.contains("수집 중…"), "{loading}");
    ui.history_arrived("BTC", SparkData::Ready(samples()));
    let screen = text(&render(&snap, &ui, 120, 40, NOW));
    assert!(
        screen.contains("백분위 1h p") && screen.contains("Bybit"),
        "{screen}"
    );
    assert_screen("screen_detail_120x40", &screen);
}

#[test]
fn choseong_filter_finds_bitcoin() {
    let snap = snapshot();
    let mut ui = ui_for(&snap, 120, 40);
    act(
        &mut ui,
        &snap,
        &[
            Action::StartFilter,
            Action::FilterInput('ㅂ'),
            Action::FilterInput('ㅌ'),
        ],
    );
    let names: Vec<&str> = ui
        .view()
        .iter()
        .map(|&i| snap.coins[i].symbol.as_str())
        .collect();
    assert_eq!(names, ["BTC"]);
    let screen = text(&render(&snap, &ui, 120, 40, NOW));
    assert!(
        screen.contains("필터: ㅂㅌ_") && screen.contains("비트코인 BTC"),
        "{screen}"
    );
    assert!(!screen.contains("이더리움"), "{screen}");
    // English names and symbols match too, case-insensitively.
    act(
        &mut ui,
        &snap,
        &[
            Action::FilterClear,
            Action::FilterInput('d'),
            Action::FilterInput('o'),
            Action::FilterInput('g'),
        ],
    );
    let names: Vec<&str> = ui
        .view()
        .iter()
        .map(|&i| snap.coins[i].symbol.as_str())
        .collect();
    assert_eq!(names, ["DOGE"]);
}

#[test]
fn every_row_fits_its_width_and_long_names_end_in_an_ellipsis() {
    let snap = snapshot();
    for (w, h) in [(80, 24), (120, 40), (200, 60)] {
        let ui = ui_for(&snap, w, h);
        let screen = text(&render(&snap, &ui, w, h, NOW));
        for line in screen.lines() {
            assert!(
                line.width() <= usize::from(w),
                "{w}: `{line}` is {} cells",
                line.width()
            );
        }
        let long = screen
            .lines()
            .find(|l| l.contains("엄청나게"))
            .expect("long name row");
        assert!(long.contains("…"), "{long}");
    }
}

fn premium_cell_fg(theme: &Theme) -> Color {
    let snap = snapshot();
    let ui = ui_with(&snap, 120, 40, theme, BTreeSet::new());
    let buf = render(&snap, &ui, 120, 40, NOW);
    let y = find_row(&buf, "이더리움 ETH").expect("ETH row");
    let line = crate::harness::row(&buf, y);
    let col = line.find("+2.").expect("premium");
    let x = u16::try_from(line.get(..col).unwrap_or("").width()).expect("narrow");
    buf[(x, y)].fg
}

#[test]
fn colours_follow_the_convention() {
    assert_eq!(
        premium_cell_fg(&Theme::new(ColorConvention::Korean, false, false)),
        Color::LightRed
    );
    assert_eq!(
        premium_cell_fg(&Theme::new(ColorConvention::Western, false, false)),
        Color::LightGreen
    );
}

#[test]
fn no_color_means_no_colour_in_any_cell() {
    let snap = snapshot();
    let coloured = render(&snap, &ui_for(&snap, 120, 40), 120, 40, NOW);
    assert!(
        cells(&coloured).any(|(_, _, c)| c.fg != Color::Reset),
        "the default theme must colour something, or this test proves nothing"
    );
    let theme = Theme::new(ColorConvention::Korean, true, false);
    let mut ui = ui_with(&snap, 120, 40, &theme, BTreeSet::new());
    let _ = ui.update(Action::ToggleHelp, &snap, NOW);
    for ui_help in [false, true] {
        ui.help = ui_help;
        let buf = render(&snap, &ui, 120, 40, NOW);
        for (x, y, c) in cells(&buf) {
            assert_eq!(
                (c.fg, c.bg),
                (Color::Reset, Color::Reset),
                "colour at {x},{y}: {c:?}"
            );
        }
    }
}

#[test]
fn stale_rows_are_dimmed_and_marked() {
    let snap = snapshot();
    let ui = ui_for(&snap, 120, 40);
    let buf = render(&snap, &ui, 120, 40, NOW);
    let y = find_row(&buf, "OLD").expect("stale row");
    let line = crate::harness::row(&buf, y);
    assert!(line.contains('~') && line.contains("지연"), "{line}");
    let x = u16::try_from(line.find("OLD").unwrap()).unwrap();
    assert!(
        buf[(x, y)].modifier.contains(Modifier::DIM),
        "{:?}",
        buf[(x, y)]
    );
    let fresh = find_row(&buf, "리플 XRP").expect("fresh row");
    assert!(!buf[(x, fresh)].modifier.contains(Modifier::DIM));
}

#[test]
fn flags_and_missing_markets_show_in_the_row() {
    let snap = snapshot();
    let ui = ui_for(&snap, 200, 60);
    let buf = render(&snap, &ui, 200, 60, NOW);
    let doge = crate::harness::row(&buf, find_row(&buf, "도지코인").unwrap());
    assert!(doge.contains('!') && doge.contains("유의"), "{doge}");
    let axs = crate::harness::row(&buf, find_row(&buf, "엑시인피니티").unwrap());
    assert_eq!(axs.matches("주의").count(), 1, "one label per kind: {axs}");
    let krwx = crate::harness::row(&buf, find_row(&buf, "국내전용코인").unwrap());
    assert!(krwx.contains("해외없음"), "{krwx}");
    let ton = crate::harness::row(&buf, find_row(&buf, "토카막").unwrap());
    assert!(ton.contains("해외없음") && ton.contains("충돌"), "{ton}");
}

#[test]
fn favourites_are_pinned_on_top() {
    let snap = snapshot();
    let ui = ui_with(
        &snap,
        120,
        40,
        &Theme::default(),
        BTreeSet::from(["SHIB".to_string()]),
    );
    assert_eq!(snap.coins[ui.view()[0]].symbol, "SHIB");
    let buf = render(&snap, &ui, 120, 40, NOW);
    assert!(crate::harness::row(&buf, 4).contains("★"), "{}", text(&buf));
}

#[test]
fn sorting_puts_unknown_values_last_both_ways() {
    let snap = snapshot();
    let mut ui = ui_for(&snap, 120, 40);
    let last = |ui: &UiState| snap.coins[*ui.view().last().unwrap()].symbol.clone();
    let first = |ui: &UiState| snap.coins[ui.view()[0]].symbol.clone();
    // 김프 ▼: AXS has the largest premium; coins without one sink.
    assert_eq!(first(&ui), "AXS");
    assert!(["KRWX", "TON", "OLD"].contains(&last(&ui).as_str()));
    act(&mut ui, &snap, &[Action::ToggleSortDirection]);
    assert!(
        ["KRWX", "TON", "OLD"].contains(&last(&ui).as_str()),
        "{}",
        last(&ui)
    );
    assert_eq!(
        first(&ui),
        "MEME",
        "the smallest premium (−0.40% 테더김프, +0.88% 김프)"
    );
}

#[test]
fn mouse_wheel_scrolls_the_pane_under_the_pointer() {
    let snap = snapshot();
    let mut ui = ui_for(&snap, 120, 40);
    assert_eq!(ui.selected_pos(), 0);
    let down = |column, row| Action::Scroll {
        up: false,
        column,
        row,
    };
    let _ = ui.update(down(10, 10), &snap, NOW);
    assert_eq!(ui.selected_pos(), 3);
    // At 120×40 the tape sits below the table: the wheel there scrolls the tape only.
    let _ = ui.update(down(10, 35), &snap, NOW);
    assert_eq!((ui.selected_pos(), ui.tape_offset), (3, 3));
    let up = Action::Scroll {
        up: true,
        column: 10,
        row: 10,
    };
    let _ = ui.update(up, &snap, NOW);
    assert_eq!(ui.selected_pos(), 0);
}

#[test]
fn a_changed_price_flashes_briefly() {
    let old = snapshot();
    let mut state = crate::fixtures::market();
    let moved = crate::fixtures::quote(Venue::Upbit, "BTC", 143_300_000.0, 1.3, 1.2e12, NOW);
    let msg = kimp::feed::FeedMsg::Events {
        feed: "upbit.ticker",
        events: vec![moved],
    };
    state.apply(msg, NOW);
    let new = state.snapshot(NOW + 100);
    let mut ui = ui_for(&old, 120, 40);
    ui.on_snapshot(&old, &new, NOW + 100);
    assert!(
        ui.flashes.get("BTC").is_some_and(|f| f.up),
        "{:?}",
        ui.flashes
    );
    assert!(
        !ui.flashes.contains_key("ETH"),
        "unchanged prices do not flash"
    );
    let cell_at = |now| {
        let buf = render(&new, &ui, 120, 40, now);
        let y = find_row(&buf, "비트코인 BTC").expect("BTC row");
        let line = crate::harness::row(&buf, y);
        let col = line.find("143,300,000").expect("new price");
        let x = u16::try_from(line.get(..col).unwrap_or("").width()).expect("narrow");
        buf[(x, y)].clone()
    };
    let flashing = cell_at(NOW + 200);
    assert!(
        flashing.modifier.contains(Modifier::UNDERLINED),
        "{flashing:?}"
    );
    assert_eq!(flashing.fg, Color::LightRed, "up, Korean colours");
    let later = cell_at(NOW + 2_000);
    assert!(!later.modifier.contains(Modifier::UNDERLINED), "{later:?}");
}
