//! Palette and symbol set: the 16 named ANSI colours only (light variants, so blue stays readable
//! on black), Korean or Western up/down colours, `NO_COLOR`, and an ASCII fallback for the
//! ambiguous-width glyphs (`● ▰ ★ … ·`) that CJK terminals may draw two cells wide.
//!
//! Colour never carries meaning alone: signs, health symbols, stale marks and tier marks say the
//! same thing in text.

use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::border;

use crate::config::ColorConvention;
use crate::model::FeedState;

/// Glyphs the widgets draw; [`Symbols::UNICODE`] or [`Symbols::ASCII`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Symbols {
    pub ellipsis: &'static str,
    /// A value that is not known.
    pub none: &'static str,
    /// Between items of one header segment (`dunamu · 12s`).
    pub dot: &'static str,
    /// Between header segments.
    pub bar: &'static str,
    pub pair_arrow: &'static str,
    pub to_krw: &'static str,
    pub favourite: &'static str,
    /// Coverage mark of a partial liquidation feed (sampled is `*` in both sets).
    pub partial: &'static str,
    pub sort_desc: &'static str,
    pub sort_asc: &'static str,
    pub gauge_full: &'static str,
    pub gauge_empty: &'static str,
    /// Eight levels, lowest first.
    pub spark: [&'static str; 8],
    pub border: border::Set<'static>,
    /// Health marks: live, quiet, connecting, reconnecting, stale, down, disabled.
    pub health: [&'static str; 7],
}

impl Symbols {
    pub const UNICODE: Symbols = Symbols {
        ellipsis: "…",
        none: "—",
        dot: "·",
        bar: "│",
        pair_arrow: "↔",
        to_krw: "→₩",
        favourite: "★",
        partial: "†",
        sort_desc: "▼",
        sort_asc: "▲",
        gauge_full: "▰",
        gauge_empty: "▱",
        spark: ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"],
        border: border::PLAIN,
        health: ["●", "○", "◌", "↻", "◐", "✕", "-"],
    };
    pub const ASCII: Symbols = Symbols {
        ellipsis: "..",
        none: "-",
        dot: "-",
        bar: "|",
        pair_arrow: "<>",
        to_krw: "=>W",
        favourite: "*",
        partial: "#",
        sort_desc: "v",
        sort_asc: "^",
        gauge_full: "#",
        gauge_empty: ".",
        spark: ["_", ".", "-", "-", "=", "=", "#", "#"],
        border: border::Set {
            top_left: "+",
            top_right: "+",
            bottom_left: "+",
            bottom_right: "+",
            vertical_left: "|",
            vertical_right: "|",
            horizontal_top: "-",
            horizontal_bottom: "-",
        },
        health: ["+", "o", ".", "~", "?", "x", "-"],
    };

    /// The mark of a feed state; distinct per state so it reads without colour.
    #[must_use]
    pub fn health(&self, state: FeedState) -> &'static str {
        let i = match state {
            FeedState::Live => 0,
            FeedState::Quiet => 1,
            FeedState::Connecting => 2,
            FeedState::Reconnecting => 3,
            FeedState::Stale => 4,
            FeedState::Down => 5,
            FeedState::Disabled => 6,
        };
        self.health[i]
    }
}

/// Colours and symbols of one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    pub convention: ColorConvention,
    /// `NO_COLOR` was set: styles keep modifiers (bold, dim, reverse) but no colours.
    pub no_color: bool,
    pub symbols: Symbols,
}

impl Default for Theme {
    fn default() -> Self {
        Theme::new(ColorConvention::Korean, false, false)
    }
}

impl Theme {
    #[must_use]
    pub fn new(convention: ColorConvention, no_color: bool, ascii: bool) -> Self {
        Theme {
            convention,
            no_color,
            symbols: if ascii {
                Symbols::ASCII
            } else {
                Symbols::UNICODE
            },
        }
    }

    /// Whether the `NO_COLOR` convention asks for no colour: set and non-empty.
    #[must_use]
    pub fn no_color_from_env() -> bool {
        std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
    }

    fn fg(&self, color: Color) -> Style {
        if self.no_color {
            Style::new()
        } else {
            Style::new().fg(color)
        }
    }

    /// Rising numbers: red (Korean) or green (Western).
    #[must_use]
    pub fn up(&self) -> Style {
        self.fg(match self.convention {
            ColorConvention::Korean => Color::LightRed,
            ColorConvention::Western => Color::LightGreen,
        })
    }

    /// Falling numbers: blue (Korean) or red (Western).
    #[must_use]
    pub fn down(&self) -> Style {
        self.fg(match self.convention {
            ColorConvention::Korean => Color::LightBlue,
            ColorConvention::Western => Color::LightRed,
        })
    }

    /// Up or down style by sign; zero and unknown are plain.
    #[must_use]
    pub fn signed(&self, v: Option<f64>) -> Style {
        match v {
            Some(x) if x > 0.0 => self.up(),
            Some(x) if x < 0.0 => self.down(),
            _ => Style::new(),
        }
    }

    /// Titles and column headers.
    #[must_use]
    pub fn title(&self) -> Style {
        self.fg(Color::LightCyan).add_modifier(Modifier::BOLD)
    }

    /// Secondary text (sources, ages, hints).
    #[must_use]
    pub fn muted(&self) -> Style {
        self.fg(Color::Gray)
    }

    /// Key names in hints and help.
    #[must_use]
    pub fn key(&self) -> Style {
        self.fg(Color::LightYellow).add_modifier(Modifier::BOLD)
    }

    /// Warnings: venue caution flags, stale rates, save failures.
    #[must_use]
    pub fn warn(&self) -> Style {
        self.fg(Color::LightYellow)
    }

    /// Stale rows: dimmed (and marked in text by the widget).
    #[must_use]
    pub fn stale(&self) -> Style {
        self.fg(Color::DarkGray).add_modifier(Modifier::DIM)
    }

    /// The selected row of the focused pane.
    #[must_use]
    pub fn selected(&self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }

    /// A price cell that just changed.
    #[must_use]
    pub fn flash(&self, up: bool) -> Style {
        let base = if up { self.up() } else { self.down() };
        base.add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
    }

    /// Border of the focused pane.
    #[must_use]
    pub fn focus_border(&self) -> Style {
        self.fg(Color::LightCyan)
    }

    /// Border of other panes.
    #[must_use]
    pub fn border(&self) -> Style {
        self.fg(Color::DarkGray)
    }

    /// A feed health mark.
    #[must_use]
    pub fn health(&self, state: FeedState) -> Style {
        match state {
            FeedState::Live => self.fg(Color::LightGreen),
            FeedState::Quiet => self.fg(Color::Green),
            FeedState::Connecting | FeedState::Reconnecting => self.fg(Color::LightYellow),
            FeedState::Stale => self.fg(Color::Yellow),
            FeedState::Down => self.fg(Color::LightRed).add_modifier(Modifier::BOLD),
            FeedState::Disabled => self.fg(Color::DarkGray),
        }
    }
}
