//! The widget helpers that bypass ratatui for speed must leave the buffer exactly as ratatui
//! would, styles included, over content already there: `widgets::pane` against
//! `Block::bordered()` (every size down to a single cell, titles that do not fit), and
//! `widgets::put` against `Buffer::set_stringn` (ASCII and Korean text, aligned, at the edge).

use kimp::tui::theme::Theme;
use kimp::tui::widgets::{Align, pane, put};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Widget};

/// A buffer already holding styled text, so patched styles and replaced symbols both show.
fn background() -> Buffer {
    let area = Rect::new(0, 0, 24, 8);
    let mut buf = Buffer::empty(area);
    for y in 0..area.height {
        let style = Style::new().fg(Color::Green).add_modifier(Modifier::ITALIC);
        buf.set_string(0, y, "비트코인 abcdefghijklmnopqrst", style);
    }
    buf
}

fn titles() -> Vec<(Line<'static>, Option<Line<'static>>)> {
    let left = || {
        Line::from(vec![
            Span::styled(" 김프 ", Style::new().fg(Color::Cyan).bold()),
            Span::styled("250 ", Style::new().dim()),
        ])
    };
    let right = || Line::from(Span::styled(" ≥$10K 정지 ", Style::new().fg(Color::Yellow)));
    vec![
        (left(), None),
        (left(), Some(right())),
        (Line::from(""), Some(right())),
        (
            Line::from("a title much wider than any pane here"),
            Some(right()),
        ),
    ]
}

#[test]
fn pane_draws_what_block_draws() {
    let mut checked = 0;
    for theme in [
        Theme::default(),
        Theme::new(kimp::config::ColorConvention::Korean, false, true),
    ] {
        for focused in [false, true] {
            for (title, right) in titles() {
                for (x, y, w, h) in [
                    (0, 0, 24, 8),
                    (2, 1, 20, 6),
                    (3, 2, 1, 1),
                    (3, 2, 2, 2),
                    (1, 1, 5, 1),
                    (1, 1, 1, 5),
                    (4, 3, 7, 3),
                    (20, 5, 10, 10),
                    (0, 0, 0, 4),
                ] {
                    let area = Rect::new(x, y, w, h);
                    let mut want = background();
                    let style = if focused {
                        theme.focus_border()
                    } else {
                        theme.border()
                    };
                    let mut block = Block::bordered()
                        .border_set(theme.symbols.border)
                        .border_style(style)
                        .title(title.clone());
                    if let Some(r) = right.clone() {
                        block = block.title(r.right_aligned());
                    }
                    let want_inner = block.inner(area);
                    block.render(area, &mut want);

                    let mut got = background();
                    let inner = pane(
                        &mut got,
                        area,
                        title.clone(),
                        right.clone(),
                        focused,
                        &theme,
                    );
                    assert_eq!(inner, want_inner, "inner of {area:?}");
                    assert_eq!(got, want, "{area:?} focused={focused} title={title:?}");
                    checked += 1;
                }
            }
        }
    }
    assert_eq!(checked, 2 * 2 * 4 * 9);
}

#[test]
fn put_writes_what_set_stringn_writes() {
    let theme = Theme::default();
    let style = Style::new().fg(Color::Red).add_modifier(Modifier::BOLD);
    let mut checked = 0;
    for text in [
        "143,210,000",
        "+2.20%",
        "비트코인 BTC",
        "코인",
        "a b  ",
        "",
        "₩ 1,000",
        "e\u{301}",
    ] {
        let width = u16::try_from(unicode_width::UnicodeWidthStr::width(text)).unwrap();
        for (x, w) in [
            (0, width),
            (3, width + 4),
            (20, width),
            (23, width),
            (22, 2),
        ] {
            for align in [Align::Left, Align::Right] {
                let mut want = background();
                // What put did before it wrote cells itself, for text that fits.
                let start = match align {
                    Align::Left => x,
                    Align::Right => x + w.saturating_sub(width),
                };
                if width > w {
                    continue;
                }
                want.set_stringn(start, 3, text, usize::from(width), style);
                let mut got = background();
                put(&mut got, (x, 3), w, text, align, style, &theme);
                assert_eq!(got, want, "{text:?} at {x} in {w} {align:?}");
                checked += 1;
            }
        }
    }
    assert!(checked > 40, "{checked}");
}
