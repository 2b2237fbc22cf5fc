//! Time sources: the system clock in production, a fixed clock in tests.

use crate::model::Millis;

/// Current wall-clock time in epoch milliseconds.
#[must_use]
pub fn now_ms() -> Millis {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(now.as_millis()).unwrap_or(i64::MAX)
}
