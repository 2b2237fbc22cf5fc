//! Favourites on disk: `favourites.json` in the data dir, a JSON array of symbols
//! (`["BTC","ETH"]`). Reading or writing can fail (read-only disk, a hand-edited file); the
//! dashboard shows the error in the footer and carries on with what it has.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// File name in the data dir.
pub const FILE_NAME: &str = "favourites.json";

/// The favourites file in `data_dir`.
#[must_use]
pub fn path_in(data_dir: &Path) -> PathBuf {
    data_dir.join(FILE_NAME)
}

/// Reads the favourites; a missing file is an empty set, an unreadable one an error message
/// (and an empty set).
#[must_use]
pub fn load(path: &Path) -> (BTreeSet<String>, Option<String>) {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return (BTreeSet::new(), None),
        Err(e) => return (BTreeSet::new(), Some(format!("{}: {e}", path.display()))),
    };
    match serde_json::from_str::<Vec<String>>(&text) {
        Ok(list) => (list.into_iter().collect(), None),
        Err(e) => (BTreeSet::new(), Some(format!("{}: {e}", path.display()))),
    }
}

/// Writes the favourites: to a temporary file next to it, then renamed over it, so a crash
/// never leaves half a file. Blocking: call it off the UI loop.
pub fn save(path: &Path, symbols: &[String]) -> Result<(), String> {
    let body = serde_json::to_string_pretty(symbols).map_err(|e| e.to_string())?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, body + "\n").map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_bad_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = path_in(dir.path());
        assert_eq!(load(&path), (BTreeSet::new(), None));
        save(&path, &["BTC".into(), "ETH".into()]).unwrap();
        let (set, err) = load(&path);
        assert_eq!(err, None);
        assert_eq!(set.into_iter().collect::<Vec<_>>(), ["BTC", "ETH"]);
        std::fs::write(&path, "{not json").unwrap();
        let (set, err) = load(&path);
        assert!(set.is_empty());
        assert!(err.unwrap().contains(FILE_NAME));
        // A directory where the file should be: the error names it, nothing panics.
        let blocked = dir.path().join("blocked");
        std::fs::create_dir_all(blocked.join(FILE_NAME)).unwrap();
        assert!(save(&path_in(&blocked), &["BTC".into()]).is_err());
    }
}
