//! Config errors, and how they point into the file: a byte span becomes a line, a column and the
//! dotted key (`upbit.ws_url`) the user has to fix.
//!
//! The `toml` crate reports a byte range but keeps the key path private, so the key is recovered
//! by walking the document's spanned tree for the deepest key or value that contains the error.

use std::fmt;
use std::path::PathBuf;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// Everything that can be wrong with the configuration. Messages name the file, line and key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "cannot determine the platform config and data directories (is $HOME set?); \
         pass --config and --data-dir"
    )]
    NoPlatformDirs,
    /// `--config` / `KIMP_CONFIG` names a file that does not exist.
    #[error("config file {} does not exist (given by --config or KIMP_CONFIG)", .path.display())]
    NotFound { path: PathBuf },
    #[error("cannot read config file {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML or does not fit the schema.
    #[error("config file {}{}: {detail}", .path.display(), position(*.line, *.column))]
    Parse {
        path: PathBuf,
        /// 1-based; `None` when the `toml` crate gave no position.
        line: Option<usize>,
        /// 1-based, in characters.
        column: Option<usize>,
        /// Dotted key at the error (`upbit.ws_url`, `fx.sources[1]`), when one could be found.
        key: Option<String>,
        /// What went wrong, already naming the key.
        detail: String,
    },
    /// A post-merge check failed (bad venue, URL scheme, zero interval, …).
    #[error("{}{key}: {message}", origin_prefix(.origin.as_ref()))]
    Invalid {
        key: String,
        message: String,
        /// Where the offending value came from; `None` from a bare [`Config::validate`](super::Config::validate).
        origin: Option<Origin>,
    },
}

/// Where a setting's effective value came from, so an error says what to edit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Default,
    File {
        path: PathBuf,
        line: usize,
    },
    /// A flag or its env var: clap merges both before kimp sees them, so both are named.
    Cli {
        flag: &'static str,
        env: Option<&'static str>,
    },
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Default => f.write_str("built-in default"),
            Origin::File { path, line } => write!(f, "config file {} line {line}", path.display()),
            Origin::Cli {
                flag,
                env: Some(env),
            } => write!(f, "{flag} (or env {env})"),
            Origin::Cli { flag, env: None } => f.write_str(flag),
        }
    }
}

fn position(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(line), Some(column)) => format!(" line {line}, column {column}"),
        (Some(line), None) => format!(" line {line}"),
        _ => String::new(),
    }
}

fn origin_prefix(origin: Option<&Origin>) -> String {
    origin.map(|o| format!("{o}: ")).unwrap_or_default()
}

/// One step of a key path: a table key or an array index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Segment {
    Key(String),
    Index(usize),
}

/// A dotted key path, displayed as `symbols.aliases.1000PEPE.multiplier` or `fx.sources[1]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct KeyPath(pub(crate) Vec<Segment>);

impl KeyPath {
    /// Builds a path from plain keys: `KeyPath::of(&["upbit", "ws_url"])`.
    pub(crate) fn of(keys: &[&str]) -> KeyPath {
        KeyPath(keys.iter().map(|k| Segment::Key((*k).to_owned())).collect())
    }

    #[must_use]
    pub(crate) fn key(mut self, key: &str) -> KeyPath {
        self.0.push(Segment::Key(key.to_owned()));
        self
    }

    #[must_use]
    pub(crate) fn index(mut self, index: usize) -> KeyPath {
        self.0.push(Segment::Index(index));
        self
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Index(index) => write!(f, "[{index}]")?,
                Segment::Key(key) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    let bare = !key.is_empty()
                        && key
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                    if bare {
                        f.write_str(key)?;
                    } else {
                        write!(f, "{key:?}")?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
#[must_use]
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut end = offset.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let before = text.get(..end).unwrap_or_default();
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit('\n')
        .next()
        .unwrap_or_default()
        .chars()
        .count()
        + 1;
    (line, column)
}

/// Dotted key of the deepest key or value in `text` whose span contains byte `offset`.
///
/// Works on documents with syntax errors too (best-effort recovery), which is how a duplicate
/// key or a bad value still gets named.
#[must_use]
pub fn key_at(text: &str, offset: usize) -> Option<String> {
    let (document, _errors) = DeTable::parse_recoverable(text);
    let mut best = KeyPath::default();
    find_deepest(
        document.get_ref(),
        offset,
        &mut KeyPath::default(),
        &mut best,
    );
    if best.0.is_empty() {
        key_from_text(text, offset)
    } else {
        Some(best.to_string())
    }
}

/// Fallback for syntax errors the parser could not recover a tree around: the nearest
/// `[table]` header above the error and the `key =` on its line, as written.
fn key_from_text(text: &str, offset: usize) -> Option<String> {
    let (line_number, _) = line_column(text, offset);
    let lines: Vec<&str> = text.lines().take(line_number).collect();
    let here = lines.last()?.trim();
    let header = lines
        .iter()
        .rev()
        .map(|l| l.trim())
        .find(|l| l.starts_with('['));
    let table = header.map(|h| {
        h.trim_start_matches('[')
            .split(']')
            .next()
            .unwrap_or_default()
            .trim()
            .to_owned()
    });
    let key = (!here.starts_with('['))
        .then(|| here.split_once('=').map(|(key, _)| key.trim()))
        .flatten()
        .filter(|key| !key.is_empty() && !key.starts_with('#'));
    match (table.filter(|t| !t.is_empty()), key) {
        (Some(table), Some(key)) => Some(format!("{table}.{key}")),
        (Some(table), None) => Some(table),
        (None, Some(key)) => Some(key.to_owned()),
        (None, None) => None,
    }
}

fn contains(span: &std::ops::Range<usize>, offset: usize) -> bool {
    span.contains(&offset) || span.start == offset
}

fn find_deepest(table: &DeTable<'_>, offset: usize, path: &mut KeyPath, best: &mut KeyPath) {
    for (key, value) in table {
        path.0.push(Segment::Key(key.get_ref().to_string()));
        if contains(&key.span(), offset) || contains(&value.span(), offset) {
            keep_if_deeper(path, best);
        }
        descend(value, offset, path, best);
        path.0.pop();
    }
}

fn descend(value: &Spanned<DeValue<'_>>, offset: usize, path: &mut KeyPath, best: &mut KeyPath) {
    match value.get_ref() {
        DeValue::Table(table) => find_deepest(table, offset, path, best),
        DeValue::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                path.0.push(Segment::Index(index));
                if contains(&item.span(), offset) {
                    keep_if_deeper(path, best);
                }
                descend(item, offset, path, best);
                path.0.pop();
            }
        }
        _ => {}
    }
}

fn keep_if_deeper(path: &KeyPath, best: &mut KeyPath) {
    if path.0.len() > best.0.len() {
        best.clone_from(path);
    }
}

/// Line (1-based) where the value at `path` is set in `text`, or `None` if the file doesn't set it.
pub(crate) fn line_of(text: &str, path: &KeyPath) -> Option<usize> {
    let document = DeTable::parse(text).ok()?;
    let mut current: Option<&Spanned<DeValue<'_>>> = None;
    let mut start = None;
    for segment in &path.0 {
        let (offset, found) = match segment {
            Segment::Key(name) => {
                let table = match current {
                    None => document.get_ref(),
                    Some(value) => value.get_ref().as_table()?,
                };
                let (key, found) = table.iter().find(|(k, _)| &**k.get_ref() == name)?;
                (key.span().start, found)
            }
            Segment::Index(index) => {
                let item = current?.get_ref().as_array()?.get(*index)?;
                (item.span().start, item)
            }
        };
        start = Some(offset);
        current = Some(found);
    }
    start.map(|offset| line_column(text, offset).0)
}

/// Rewrites serde's wording for TOML readers and names the key: "unknown field" becomes
/// "unknown key" with the dotted key in it, other messages get a `key: ` prefix.
pub(crate) fn describe(message: &str, key: Option<&str>) -> String {
    let Some(key) = key else {
        return message.to_owned();
    };
    if let Some(rest) = message.strip_prefix("unknown field `")
        && let Some((_field, rest)) = rest.split_once('`')
    {
        return format!("unknown key `{key}`{rest}");
    }
    let message = message.replacen("missing field", "missing key", 1);
    format!("{key}: {message}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_count_lines_and_characters() {
        let text = "a = 1\n# 김프\nb = \"x\"\n";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 4), (1, 5));
        let b = text.find('b').unwrap();
        assert_eq!(line_column(text, b), (3, 1));
        assert_eq!(line_column(text, b + 4), (3, 5));
        // inside a multi-byte character: rounds down, never panics
        let kim = text.find('김').unwrap();
        assert_eq!(line_column(text, kim + 1), (2, 3));
        assert_eq!(line_column(text, 10_000), (4, 1));
    }

    #[test]
    fn key_at_finds_header_tables_dotted_keys_inline_tables_and_arrays() {
        let text = "[upbit]\nws_url = 'a'\n\n[symbols.aliases]\n'1000PEPE' = { coin = 'PEPE', multiplier = 'x' }\n[fx]\nsources = ['dunamu', 'yahoo']\nbinance.lifetime_secs = 1\n";
        let at = |needle: &str| key_at(text, text.find(needle).unwrap());
        assert_eq!(at("'a'").as_deref(), Some("upbit.ws_url"));
        assert_eq!(at("ws_url").as_deref(), Some("upbit.ws_url"));
        assert_eq!(
            at("'x'").as_deref(),
            Some("symbols.aliases.1000PEPE.multiplier")
        );
        assert_eq!(at("'yahoo'").as_deref(), Some("fx.sources[1]"));
        assert_eq!(at("lifetime").as_deref(), Some("fx.binance.lifetime_secs"));
        assert_eq!(at("[upbit]").as_deref(), Some("upbit"));
        assert_eq!(key_at("# only a comment\n", 3), None);
    }

    #[test]
    fn key_at_falls_back_to_the_text_on_syntax_errors() {
        let text = "[upbit]\nenabled = true\nws_url = \"wss://x\n";
        let end = text.rfind('\n').unwrap();
        assert_eq!(key_at(text, end).as_deref(), Some("upbit.ws_url"));
        assert_eq!(key_from_text("a = \"x\n", 5).as_deref(), Some("a"));
        assert_eq!(key_from_text("[fx\n", 3).as_deref(), Some("fx"));
        assert_eq!(key_from_text("# only\n", 2), None);
    }

    #[test]
    fn key_paths_quote_keys_that_are_not_bare() {
        let path = KeyPath::of(&["symbols", "aliases", "1000 PEPE"])
            .key("coin")
            .index(2);
        assert_eq!(path.to_string(), "symbols.aliases.\"1000 PEPE\".coin[2]");
    }

    #[test]
    fn line_of_finds_keys_and_array_items_and_misses_defaults() {
        let text = "[general]\ndomestic = 'x'\n[fx]\nsources = [\n  'dunamu',\n  'yahoo',\n]\n";
        assert_eq!(
            line_of(text, &KeyPath::of(&["general", "domestic"])),
            Some(2)
        );
        assert_eq!(
            line_of(text, &KeyPath::of(&["fx", "sources"]).index(1)),
            Some(6)
        );
        assert_eq!(line_of(text, &KeyPath::of(&["general", "overseas"])), None);
        assert_eq!(line_of(text, &KeyPath::of(&["upbit", "ws_url"])), None);
    }

    #[test]
    fn describe_names_the_key() {
        assert_eq!(
            describe(
                "unknown field `wsurl`, expected `ws_url` or `rest_url`",
                Some("upbit.wsurl")
            ),
            "unknown key `upbit.wsurl`, expected `ws_url` or `rest_url`"
        );
        assert_eq!(
            describe("missing field `multiplier`", Some("symbols.aliases.X")),
            "symbols.aliases.X: missing key `multiplier`"
        );
        assert_eq!(describe("oops", None), "oops");
    }
}
