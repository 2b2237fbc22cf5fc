//! Text for terminals: widths in cells (Hangul is two cells per syllable), truncation at a cell
//! boundary with an ellipsis, padding, number formats (grouping, 억/조, K/M/B, percent, ages,
//! clock) and Korean initial-consonant (초성) matching for the filter.
//!
//! Never measure with `len()` or `chars().count()` and never pad with `format!("{:<10}")`: both
//! count chars, and `비트코인` is four chars but eight cells.

use std::borrow::Cow;
use std::fmt::Write as _;

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use crate::model::Millis;

/// Width of `s` in terminal cells.
#[must_use]
pub fn width(s: &str) -> usize {
    UnicodeWidthStr::width(s)
}

/// `s` cut to at most `max` cells; when cut, it ends with `ellipsis` and never splits a wide
/// character (a two-cell syllable that does not fit leaves one blank cell instead).
#[must_use]
pub fn truncate<'a>(s: &'a str, max: usize, ellipsis: &str) -> Cow<'a, str> {
    if width(s) <= max {
        return Cow::Borrowed(s);
    }
    let ell = width(ellipsis);
    if max < ell {
        return Cow::Owned(" ".repeat(max));
    }
    let budget = max - ell;
    let mut out = String::with_capacity(max + ellipsis.len());
    let mut used = 0;
    for ch in s.chars() {
        let w = ch.width().unwrap_or(0);
        if used + w > budget {
            break;
        }
        used += w;
        out.push(ch);
    }
    out.push_str(ellipsis);
    Cow::Owned(out)
}

/// `s` truncated to `cells` and padded with spaces on the right to exactly `cells`.
#[must_use]
pub fn pad_right(s: &str, cells: usize, ellipsis: &str) -> String {
    let cut = truncate(s, cells, ellipsis);
    let mut out = cut.into_owned();
    let w = width(&out);
    out.extend(std::iter::repeat_n(' ', cells.saturating_sub(w)));
    out
}

/// `s` truncated to `cells` and padded with spaces on the left to exactly `cells`.
#[must_use]
pub fn pad_left(s: &str, cells: usize, ellipsis: &str) -> String {
    let cut = truncate(s, cells, ellipsis);
    let w = width(&cut);
    let mut out = " ".repeat(cells.saturating_sub(w));
    out.push_str(&cut);
    out
}

/// `+2.20%`, `−0.91%` (U+2212, as in `kimp snapshot`), `—` for none.
#[must_use]
pub fn percent(v: Option<f64>) -> String {
    percent_with(v, '−', "—")
}

/// `+2.20%` / `-0.91%` with an ASCII minus: U+2212 is ambiguous-width, so tight columns avoid it.
#[must_use]
pub fn signed_percent(v: Option<f64>, none: &str) -> String {
    percent_with(v, '-', none)
}

fn percent_with(v: Option<f64>, minus: char, none: &str) -> String {
    let Some(p) = v else {
        return none.to_string();
    };
    let mut out = String::with_capacity(10);
    if p < 0.0 {
        out.push(minus);
        push_fixed(&mut out, -p, 2);
    } else {
        out.push('+');
        push_fixed(&mut out, p, 2);
    }
    out.push('%');
    out
}

/// `v` with `decimals` fraction digits appended to `out`, exactly as `{v:.decimals$}` writes it.
///
/// `format!` expands the float's exact binary value and rounds it (ties to even), which costs a
/// tenth of a 250-row frame. Here the common case is integer arithmetic: `v × 10^decimals` below
/// 2^40 is within 2^-14 of the exact product, so unless its fraction is near one half the
/// rounding goes the same way; near a half, and for anything negative (`-0.0` prints its sign),
/// not finite or out of range, `format!` decides.
pub fn push_fixed(out: &mut String, v: f64, decimals: usize) {
    /// Well above the product's rounding error (at most 2^-14 below 2^40).
    const TIE_MARGIN: f64 = 1e-3;
    const LIMIT: f64 = 1_099_511_627_776.0; // 2^40
    if let Some(&(scale, step)) = SCALES.get(decimals)
        && v.is_sign_positive()
        && v.is_finite()
    {
        let scaled = v * scale;
        let whole = scaled.floor();
        let frac = scaled - whole;
        if scaled < LIMIT && (frac - 0.5).abs() > TIE_MARGIN {
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "0 <= whole < 2^40: exact in u64"
            )]
            let n = whole as u64 + u64::from(frac > 0.5);
            let _ = write!(out, "{}", n / step);
            if decimals > 0 {
                let _ = write!(out, ".{:0decimals$}", n % step);
            }
            return;
        }
    }
    let _ = write!(out, "{v:.decimals$}");
}

/// `(10^d as f64, 10^d)` for the decimals [`push_fixed`] computes itself.
const SCALES: [(f64, u64); 13] = [
    (1.0, 1),
    (1e1, 10),
    (1e2, 100),
    (1e3, 1_000),
    (1e4, 10_000),
    (1e5, 100_000),
    (1e6, 1_000_000),
    (1e7, 10_000_000),
    (1e8, 100_000_000),
    (1e9, 1_000_000_000),
    (1e10, 10_000_000_000),
    (1e11, 100_000_000_000),
    (1e12, 1_000_000_000_000),
];

/// [`push_fixed`] into a new string.
fn fixed(v: f64, decimals: usize) -> String {
    let mut out = String::with_capacity(16);
    push_fixed(&mut out, v, decimals);
    out
}

/// KRW prices: whole won with grouping from 100 up, else up to four decimals.
#[must_use]
pub fn krw(v: f64) -> String {
    if v >= 100.0 {
        group(v, 0)
    } else if v >= 1.0 {
        fixed(v, 2)
    } else {
        significant(v)
    }
}

/// Four significant digits for prices below 1 (`0.1622`, `0.000006150`).
fn significant(v: f64) -> String {
    if v <= 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    // floor(log10(v)) is in -308..0 here, so the cast cannot truncate.
    #[expect(clippy::cast_possible_truncation, reason = "bounded exponent")]
    let exp = v.log10().floor() as i32;
    let decimals = usize::try_from((3 - exp).clamp(4, 12)).unwrap_or(4);
    fixed(v, decimals)
}

/// USDT prices: two decimals from 1,000, four from 1, else four significant digits.
#[must_use]
pub fn usd(v: f64) -> String {
    if v >= 1_000.0 {
        group(v, 2)
    } else if v >= 1.0 {
        fixed(v, 4)
    } else {
        significant(v)
    }
}

/// Korean units for traded value: `1.2조`, `3,456억`, `980만`.
#[must_use]
pub fn eok_jo(v: f64) -> String {
    let (mut out, unit) = if v >= 1e12 {
        (fixed(v / 1e12, 1), '조')
    } else if v >= 1e8 {
        (group(v / 1e8, 0), '억')
    } else {
        (group(v / 1e4, 0), '만')
    };
    out.push(unit);
    out
}

/// English units: `1.2T`, `345.6B`, `98.0M`, `12K`, `950`.
#[must_use]
pub fn compact(v: f64) -> String {
    let a = v.abs();
    let (scaled, decimals, unit) = if a >= 1e12 {
        (v / 1e12, 1, Some('T'))
    } else if a >= 1e9 {
        (v / 1e9, 1, Some('B'))
    } else if a >= 1e6 {
        (v / 1e6, 1, Some('M'))
    } else if a >= 1e3 {
        (v / 1e3, 0, Some('K'))
    } else {
        (v, 0, None)
    };
    let mut out = fixed(scaled, decimals);
    out.extend(unit);
    out
}

/// A USD amount for the tape and the footer: `$1.2M`, `$84K`.
#[must_use]
pub fn usd_compact(v: f64) -> String {
    format!("${}", compact(v))
}

/// Age for display: `800ms`, `12s`, `5m`, `3h`, `2d`.
#[must_use]
pub fn age(ms: i64) -> String {
    match ms {
        ..1_000 => format!("{}ms", ms.max(0)),
        1_000..60_000 => format!("{}s", ms / 1_000),
        60_000..3_600_000 => format!("{}m", ms / 60_000),
        3_600_000..86_400_000 => format!("{}h", ms / 3_600_000),
        _ => format!("{}d", ms / 86_400_000),
    }
}

/// Thousands separators with `decimals` fraction digits.
#[must_use]
pub fn group(v: f64, decimals: usize) -> String {
    let s = fixed(v.abs(), decimals);
    let (int, frac) = s
        .split_once('.')
        .map_or((s.as_str(), None), |(i, f)| (i, Some(f)));
    let mut out = String::with_capacity(s.len() + s.len() / 3 + 1);
    if v < 0.0 {
        out.push('-');
    }
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    if let Some(f) = frac {
        out.push('.');
        out.push_str(f);
    }
    out
}

/// `HH:MM:SS` of `ms` shifted by `offset_secs` (KST is +9 h).
#[must_use]
pub fn clock_hms(ms: Millis, offset_secs: i64) -> String {
    let day = (ms.div_euclid(1_000) + offset_secs).rem_euclid(86_400);
    let mut out = String::with_capacity(8);
    let _ = write!(
        out,
        "{:02}:{:02}:{:02}",
        day / 3_600,
        day / 60 % 60,
        day % 60
    );
    out
}

/// The 19 initial consonants of Hangul syllables, in Unicode order, as compatibility jamo (the
/// characters a Korean keyboard types).
const CHOSEONG: [char; 19] = [
    'ㄱ', 'ㄲ', 'ㄴ', 'ㄷ', 'ㄸ', 'ㄹ', 'ㅁ', 'ㅂ', 'ㅃ', 'ㅅ', 'ㅆ', 'ㅇ', 'ㅈ', 'ㅉ', 'ㅊ', 'ㅋ',
    'ㅌ', 'ㅍ', 'ㅎ',
];
const SYLLABLE_FIRST: u32 = 0xAC00;
const SYLLABLE_LAST: u32 = 0xD7A3;
/// Syllables per initial consonant: 21 vowels × 28 finals.
const PER_INITIAL: u32 = 21 * 28;

/// The initial consonant of a Hangul syllable (`비` → `ㅂ`).
#[must_use]
pub fn initial(c: char) -> Option<char> {
    let code = u32::from(c);
    if !(SYLLABLE_FIRST..=SYLLABLE_LAST).contains(&code) {
        return None;
    }
    let index = usize::try_from((code - SYLLABLE_FIRST) / PER_INITIAL).ok()?;
    CHOSEONG.get(index).copied()
}

fn is_choseong(c: char) -> bool {
    CHOSEONG.contains(&c)
}

/// One query character against one text character: equal ignoring ASCII case, or a bare
/// initial consonant standing for any syllable that starts with it.
fn char_matches(q: char, c: char) -> bool {
    q.eq_ignore_ascii_case(&c) || (is_choseong(q) && initial(c) == Some(q))
}

/// Whether `query` occurs in `text` as a substring, where each initial consonant in the query
/// matches a whole syllable (`ㅂㅌ`, `비ㅌ` and `비트` all find `비트코인`) and ASCII letters
/// ignore case. An empty query matches everything.
#[must_use]
pub fn fuzzy_contains(text: &str, query: &str) -> bool {
    if query.is_empty() {
        return true;
    }
    let q: Vec<char> = query.chars().collect();
    let t: Vec<char> = text.chars().collect();
    if q.len() > t.len() {
        return false;
    }
    t.windows(q.len())
        .any(|w| w.iter().zip(&q).all(|(&c, &qc)| char_matches(qc, c)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(group(143_210_000.0, 0), "143,210,000");
        assert_eq!(group(1_384.25, 1), "1,384.2");
        assert_eq!(group(-1_234.0, 0), "-1,234");
        assert_eq!(eok_jo(1.2e12), "1.2조");
        assert_eq!(eok_jo(3.456e11), "3,456억");
        assert_eq!(compact(3.456e11), "345.6B");
        assert_eq!(usd_compact(84_000.0), "$84K");
        assert_eq!(percent(Some(-0.912)), "−0.91%");
        assert_eq!(signed_percent(Some(-0.912), "-"), "-0.91%");
        assert_eq!(age(12_345), "12s");
        assert_eq!(clock_hms(1_790_640_000_123, 9 * 3_600), "09:00:00");
    }

    /// `push_fixed` must write what `format!` writes, for every decimals it is used with and
    /// values from every magnitude, ties and near-ties (decimal inputs such as `1.005`) included.
    #[test]
    fn fixed_matches_format() {
        use rand::rngs::SmallRng;
        use rand::{Rng, SeedableRng};
        let mut rng = SmallRng::seed_from_u64(7);
        let mut values = vec![
            0.0,
            -0.0,
            0.5,
            1.5,
            2.5,
            0.125,
            0.375,
            1.005,
            2.675,
            1.255,
            1e-7,
            0.000_006_15,
            99.995,
            999.995,
            143_210_000.0,
            1_099_511_627_775.5,
            1.1e12,
            1e15,
            -1.5,
            -0.004,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MIN_POSITIVE,
            4_503_599_627_370_497.0,
        ];
        for _ in 0..20_000 {
            let exp = rng.random_range(-9..=13);
            values.push(rng.random::<f64>() * 10f64.powi(exp));
            // Decimal inputs on a half at some precision, as prices and percents are.
            let d = rng.random_range(0..=6);
            let k: u32 = rng.random_range(0..2_000_000);
            values.push((f64::from(k) + 0.5) / 10f64.powi(d));
        }
        let mut fast = 0;
        for &v in &values {
            for decimals in 0..=14 {
                let mut got = String::new();
                push_fixed(&mut got, v, decimals);
                assert_eq!(got, format!("{v:.decimals$}"), "{v:e} to {decimals}");
                fast += usize::from(v.is_finite() && v > 0.0);
            }
        }
        assert!(fast > 500_000, "{fast}");
    }

    #[test]
    fn truncates_at_cell_boundaries() {
        assert_eq!(width("비트코인"), 8);
        assert_eq!(truncate("비트코인", 8, "…"), "비트코인");
        // 5 cells: two syllables (4) + ellipsis (1).
        assert_eq!(truncate("비트코인", 5, "…"), "비트…");
        // 6 cells: a third syllable would need 2 more, so it stops at 5.
        assert_eq!(truncate("비트코인", 6, "…"), "비트…");
        assert_eq!(width(&pad_right("비트코인", 6, "…")), 6);
        assert_eq!(pad_left("BTC", 5, "…"), "  BTC");
        assert_eq!(truncate("abc", 0, "…"), "");
    }

    #[test]
    fn initial_consonants_match() {
        assert_eq!(initial('비'), Some('ㅂ'));
        assert_eq!(initial('트'), Some('ㅌ'));
        assert!(fuzzy_contains("비트코인", "ㅂㅌ"));
        assert!(fuzzy_contains("비트코인", "비ㅌ"));
        assert!(fuzzy_contains("비트코인", "ㅋㅇ"));
        assert!(!fuzzy_contains("이더리움", "ㅂㅌ"));
        assert!(fuzzy_contains("Bitcoin", "bitc"));
        assert!(fuzzy_contains("anything", ""));
    }
}
