//! Keys → [`Action`]s, as one table ([`BINDINGS`]) that also feeds the `?` help overlay, so the
//! help can never disagree with what the keys do. While the filter is being typed, printable
//! keys edit the filter instead ([`filter_action`]).

use ratatui::crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEvent, MouseEventKind,
};

/// Everything a key or the mouse can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Quit,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    StartFilter,
    NextSort,
    ToggleSortDirection,
    ToggleFavourite,
    CycleDomestic,
    CycleOverseas,
    ToggleFocus,
    ToggleFreeze,
    RaiseThreshold,
    LowerThreshold,
    ToggleLanguage,
    ToggleClock,
    ToggleHelp,
    OpenDetail,
    /// Closes the innermost of help, detail, filter.
    Back,
    FilterInput(char),
    FilterBackspace,
    FilterClear,
    /// Enter while typing: keep the filter, stop typing.
    FilterAccept,
    /// Mouse wheel at a screen position; `up` scrolls towards the top.
    Scroll {
        up: bool,
        column: u16,
        row: u16,
    },
}

/// One key: a code, with or without Ctrl.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    pub code: KeyCode,
    pub ctrl: bool,
}

const fn k(c: char) -> Key {
    Key {
        code: KeyCode::Char(c),
        ctrl: false,
    }
}

const fn ctrl(c: char) -> Key {
    Key {
        code: KeyCode::Char(c),
        ctrl: true,
    }
}

const fn code(code: KeyCode) -> Key {
    Key { code, ctrl: false }
}

/// One row of the key map: the keys, what they do, and the help text in both languages.
#[derive(Debug, Clone, Copy)]
pub struct Binding {
    pub keys: &'static [Key],
    pub action: Action,
    /// How the keys are written in the help overlay.
    pub label: &'static str,
    pub ko: &'static str,
    pub en: &'static str,
}

const fn bind(
    keys: &'static [Key],
    action: Action,
    label: &'static str,
    ko: &'static str,
    en: &'static str,
) -> Binding {
    Binding {
        keys,
        action,
        label,
        ko,
        en,
    }
}

/// The key map (SPEC §11), in help order.
pub const BINDINGS: &[Binding] = &[
    bind(
        &[k('j'), code(KeyCode::Down)],
        Action::Down,
        "j ↓",
        "아래로",
        "down",
    ),
    bind(
        &[k('k'), code(KeyCode::Up)],
        Action::Up,
        "k ↑",
        "위로",
        "up",
    ),
    bind(
        &[code(KeyCode::PageDown), ctrl('d')],
        Action::PageDown,
        "PgDn C-d",
        "한 페이지 아래",
        "page down",
    ),
    bind(
        &[code(KeyCode::PageUp), ctrl('u')],
        Action::PageUp,
        "PgUp C-u",
        "한 페이지 위",
        "page up",
    ),
    bind(
        &[k('g'), code(KeyCode::Home)],
        Action::Top,
        "g Home",
        "맨 위",
        "top",
    ),
    bind(
        &[k('G'), code(KeyCode::End)],
        Action::Bottom,
        "G End",
        "맨 아래",
        "bottom",
    ),
    bind(
        &[k('/')],
        Action::StartFilter,
        "/",
        "필터 (기호·이름·초성 ㅂㅌ)",
        "filter (symbol, name, 초성)",
    ),
    bind(
        &[k('s')],
        Action::NextSort,
        "s",
        "정렬 열 바꾸기",
        "next sort column",
    ),
    bind(
        &[k('S')],
        Action::ToggleSortDirection,
        "S",
        "정렬 방향 뒤집기",
        "reverse sort",
    ),
    bind(
        &[k('f')],
        Action::ToggleFavourite,
        "f",
        "즐겨찾기 (위에 고정)",
        "favourite (pinned on top)",
    ),
    bind(
        &[code(KeyCode::Enter)],
        Action::OpenDetail,
        "Enter",
        "코인 상세",
        "coin detail",
    ),
    bind(
        &[k('d')],
        Action::CycleDomestic,
        "d",
        "국내 거래소 바꾸기",
        "cycle domestic venue",
    ),
    bind(
        &[k('o')],
        Action::CycleOverseas,
        "o",
        "해외 거래소 바꾸기",
        "cycle overseas venue",
    ),
    bind(
        &[code(KeyCode::Tab), code(KeyCode::BackTab)],
        Action::ToggleFocus,
        "Tab",
        "표 ↔ 청산 전환",
        "focus table / tape",
    ),
    bind(
        &[k(' ')],
        Action::ToggleFreeze,
        "Space",
        "청산 테이프 정지",
        "freeze the tape",
    ),
    bind(
        &[k('+'), k('=')],
        Action::RaiseThreshold,
        "+",
        "청산 최소 금액 올리기",
        "raise tape minimum",
    ),
    bind(
        &[k('-'), k('_')],
        Action::LowerThreshold,
        "-",
        "청산 최소 금액 내리기",
        "lower tape minimum",
    ),
    bind(
        &[k('l')],
        Action::ToggleLanguage,
        "l",
        "한국어 / English",
        "English / 한국어",
    ),
    bind(
        &[k('t')],
        Action::ToggleClock,
        "t",
        "KST / UTC",
        "KST / UTC",
    ),
    bind(&[k('?')], Action::ToggleHelp, "?", "도움말", "this help"),
    bind(
        &[code(KeyCode::Esc)],
        Action::Back,
        "Esc",
        "닫기 (필터·상세·도움말)",
        "close filter/detail/help",
    ),
    bind(&[k('q'), ctrl('c')], Action::Quit, "q C-c", "종료", "quit"),
];

/// Rows the mouse wheel scrolls per notch.
pub const WHEEL_ROWS: usize = 3;

fn is_ctrl_c(key: &KeyEvent) -> bool {
    key.modifiers.contains(KeyModifiers::CONTROL) && matches!(key.code, KeyCode::Char('c' | 'C'))
}

/// Whether `key` is `want`. Shift is ignored (it is already in the character: `G`, `?`, `+`);
/// Ctrl must match; Alt never matches.
fn same(key: &KeyEvent, want: Key) -> bool {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    !key.modifiers.contains(KeyModifiers::ALT) && ctrl == want.ctrl && key.code == want.code
}

/// The action of a key in normal mode (Press only: terminals that report releases would fire
/// everything twice).
#[must_use]
pub fn action(key: &KeyEvent) -> Option<Action> {
    if key.kind != KeyEventKind::Press {
        return None;
    }
    BINDINGS
        .iter()
        .find(|b| b.keys.iter().any(|&want| same(key, want)))
        .map(|b| b.action)
}

/// The action of a key while the filter is being typed: characters edit it, Enter keeps it,
/// Esc clears it, arrows still move; Ctrl-C still quits.
#[must_use]
pub fn filter_action(key: &KeyEvent) -> Option<Action> {
    if key.kind != KeyEventKind::Press {
        return None;
    }
    if is_ctrl_c(key) {
        return Some(Action::Quit);
    }
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    match key.code {
        KeyCode::Char('u') if ctrl => Some(Action::FilterClear),
        KeyCode::Char(c) if !ctrl => Some(Action::FilterInput(c)),
        KeyCode::Backspace => Some(Action::FilterBackspace),
        KeyCode::Enter => Some(Action::FilterAccept),
        KeyCode::Esc => Some(Action::Back),
        KeyCode::Down => Some(Action::Down),
        KeyCode::Up => Some(Action::Up),
        KeyCode::PageDown => Some(Action::PageDown),
        KeyCode::PageUp => Some(Action::PageUp),
        _ => None,
    }
}

/// The action of a mouse event: the wheel scrolls the pane under the pointer.
#[must_use]
pub fn mouse_action(ev: &MouseEvent) -> Option<Action> {
    let up = match ev.kind {
        MouseEventKind::ScrollUp => true,
        MouseEventKind::ScrollDown => false,
        _ => return None,
    };
    Some(Action::Scroll {
        up,
        column: ev.column,
        row: ev.row,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    #[test]
    fn shift_is_in_the_character_and_ctrl_must_match() {
        let g = press(KeyCode::Char('G'), KeyModifiers::SHIFT);
        assert_eq!(action(&g), Some(Action::Bottom));
        let ctrl_c = press(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(action(&ctrl_c), Some(Action::Quit));
        assert_eq!(filter_action(&ctrl_c), Some(Action::Quit));
        let plain_c = press(KeyCode::Char('c'), KeyModifiers::NONE);
        assert_eq!(action(&plain_c), None);
        let ctrl_d = press(KeyCode::Char('d'), KeyModifiers::CONTROL);
        assert_eq!(action(&ctrl_d), Some(Action::PageDown));
    }

    #[test]
    fn releases_are_ignored() {
        let mut q = press(KeyCode::Char('q'), KeyModifiers::NONE);
        q.kind = KeyEventKind::Release;
        assert_eq!(action(&q), None);
    }

    #[test]
    fn no_key_is_bound_twice() {
        let keys: Vec<Key> = BINDINGS
            .iter()
            .flat_map(|b| b.keys.iter().copied())
            .collect();
        for (i, a) in keys.iter().enumerate() {
            assert!(!keys[i + 1..].contains(a), "{a:?} bound twice");
        }
    }
}
