//! Pure premium math (SPEC §5, exchanges.md §11). All results are in percent (`2.2` = +2.2 %).
//!
//! `K` domestic KRW price, `G` global USDT price, `F` KRW per USD (bank), `U` KRW per USDT on the
//! domestic venue. Callers pass only fresh legs; a missing leg gives `None`, never a guess.

/// 김프: `K / (G × F) − 1`, in percent.
#[must_use]
pub fn kimp(k: f64, g: f64, f: f64) -> Option<f64> {
    ratio(k, g * f)
}

/// 테더 김프: `K / (G × U) − 1`, in percent.
#[must_use]
pub fn kimp_usdt(k: f64, g: f64, u: f64) -> Option<f64> {
    ratio(k, g * u)
}

/// Tether premium: `U / F − 1`, in percent.
#[must_use]
pub fn tether_premium(u: f64, f: f64) -> Option<f64> {
    ratio(u, f)
}

/// `a / b − 1` in percent, only for finite positive inputs.
fn ratio(a: f64, b: f64) -> Option<f64> {
    (a.is_finite() && b.is_finite() && a > 0.0 && b > 0.0).then(|| (a / b - 1.0) * 100.0)
}

/// The premiums of one coin from whichever legs are fresh.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Premiums {
    pub global_price_krw: Option<f64>,
    pub kimp: Option<f64>,
    pub kimp_usdt: Option<f64>,
}

/// Fresh legs in, premiums out: each figure needs all of its own legs.
#[must_use]
pub fn premiums(k: Option<f64>, g: Option<f64>, f: Option<f64>, u: Option<f64>) -> Premiums {
    Premiums {
        global_price_krw: g
            .zip(f)
            .map(|(g, f)| g * f)
            .filter(|v| v.is_finite() && *v > 0.0),
        kimp: k.zip(g).zip(f).and_then(|((k, g), f)| kimp(k, g, f)),
        kimp_usdt: k.zip(g).zip(u).and_then(|((k, g), u)| kimp_usdt(k, g, u)),
    }
}
