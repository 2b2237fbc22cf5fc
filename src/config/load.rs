//! Finding, reading and layering the configuration: defaults → file → env vars and flags
//! (SPEC §2, §9; STYLE §7).
//!
//! clap has already merged flags over env vars into [`GlobalArgs`], so layering here is
//! defaults, then the file, then whatever `GlobalArgs` sets. Validation runs on the result, and a
//! failure names where the offending value came from.

use std::path::{Path, PathBuf};

use directories::{BaseDirs, ProjectDirs};
use toml::de::DeTable;

use super::Config;
use super::error::{ConfigError, KeyPath, Origin, describe, key_at, line_column, line_of};
use crate::cli::GlobalArgs;

/// Where kimp's files live when neither flags nor the config say otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    /// `config.toml` in the platform config dir (`~/.config/kimp/config.toml` on Linux).
    pub config_file: PathBuf,
    /// The platform data dir (`~/.local/share/kimp` on Linux).
    pub data_dir: PathBuf,
}

/// The platform defaults, from `directories::ProjectDirs`.
pub fn default_paths() -> Result<Paths, ConfigError> {
    let dirs = ProjectDirs::from("", "", "kimp").ok_or(ConfigError::NoPlatformDirs)?;
    Ok(Paths {
        config_file: dirs.config_dir().join("config.toml"),
        data_dir: dirs.data_dir().to_path_buf(),
    })
}

/// The effective configuration and the paths it was resolved from.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    /// Defaults, file and `GlobalArgs` layered and validated. `general.log_level` is the effective
    /// level (after `-v`), `general.data_dir` the resolved [`Loaded::data_dir`].
    pub config: Config,
    /// The file actually read; `None` when the default file does not exist.
    pub file: Option<PathBuf>,
    /// The resolved data dir: `--data-dir`, else `general.data_dir`, else the platform data dir.
    pub data_dir: PathBuf,
}

/// The config file kimp reads: `--config` / `KIMP_CONFIG`, else the platform default (which may
/// not exist). For `kimp config --path`.
pub fn config_file_path(global: &GlobalArgs) -> Result<PathBuf, ConfigError> {
    match &global.config {
        Some(path) => Ok(path.clone()),
        None => Ok(default_paths()?.config_file),
    }
}

/// Loads, layers and validates the configuration. Precedence: flag > env var > file > default.
///
/// An explicit `--config` that does not exist is an error; a missing default file means defaults;
/// any file that exists must parse.
pub fn load(global: &GlobalArgs) -> Result<Loaded, ConfigError> {
    let path = config_file_path(global)?;
    let text = read(&path, global.config.is_some())?;
    let file = text.as_deref().map(|text| (path.as_path(), text));
    let mut config = match file {
        Some((path, text)) => Config::from_toml(text, path)?,
        None => Config::default(),
    };
    let overrides = layer(&mut config, global);
    let data_dir = resolve_data_dir(global, &config.general.data_dir, file.map(|(p, _)| p))?;
    config.general.data_dir = data_dir.display().to_string();
    config.check().map_err(|problem| ConfigError::Invalid {
        key: problem.path.to_string(),
        origin: Some(origin_of(&problem.path, &overrides, file)),
        message: problem.message,
    })?;
    Ok(Loaded {
        config,
        file: file.map(|(path, _)| path.to_path_buf()),
        data_dir,
    })
}

impl Config {
    /// Parses a config file's text; errors name `path`, the line, the column and the dotted key.
    /// No validation: see [`Config::validate`].
    pub fn from_toml(text: &str, path: &Path) -> Result<Config, ConfigError> {
        // Parse first on its own so syntax errors are told apart from schema errors.
        if let Err(e) = DeTable::parse(text) {
            return Err(parse_error(path, text, &e, "invalid TOML: "));
        }
        toml::from_str(text).map_err(|e| parse_error(path, text, &e, ""))
    }

    /// The configuration as TOML, as `kimp config --print` shows it; it parses back to `self`.
    #[must_use]
    pub fn to_toml(&self) -> String {
        // Only a u64 above i64::MAX can fail (TOML integers are i64); `validate` rejects those.
        toml::to_string_pretty(self)
            .unwrap_or_else(|e| format!("# kimp cannot show this configuration as TOML: {e}\n"))
    }
}

fn parse_error(path: &Path, text: &str, error: &toml::de::Error, prefix: &str) -> ConfigError {
    let offset = error.span().map(|span| span.start);
    let (line, column) = offset.map(|o| line_column(text, o)).unzip();
    let key = offset.and_then(|o| key_at(text, o));
    let message = format!("{prefix}{}", error.message());
    ConfigError::Parse {
        path: path.to_path_buf(),
        line,
        column,
        detail: describe(&message, key.as_deref()),
        key,
    }
}

/// The file's text; `None` if it is the default file and does not exist.
fn read(path: &Path, explicit: bool) -> Result<Option<String>, ConfigError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if explicit {
                Err(ConfigError::NotFound {
                    path: path.to_path_buf(),
                })
            } else {
                Ok(None)
            }
        }
        Err(source) => Err(ConfigError::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Applies what `GlobalArgs` sets over `config`; returns which keys it set and from which flag.
fn layer(config: &mut Config, global: &GlobalArgs) -> Vec<(KeyPath, Origin)> {
    let mut overrides = Vec::new();
    let mut set = |keys: &[&str], flag: &'static str, env: Option<&'static str>| {
        overrides.push((KeyPath::of(keys), Origin::Cli { flag, env }));
    };
    let general = &mut config.general;
    if let Some(domestic) = &global.domestic {
        general.domestic.clone_from(domestic);
        set(
            &["general", "domestic"],
            "--domestic",
            Some("KIMP_DOMESTIC"),
        );
    }
    if let Some(overseas) = &global.overseas {
        general.overseas.clone_from(overseas);
        set(
            &["general", "overseas"],
            "--overseas",
            Some("KIMP_OVERSEAS"),
        );
    }
    let verbose = match global.verbose {
        0 => None,
        1 => Some("debug"),
        _ => Some("trace"),
    };
    if let Some(level) = verbose {
        level.clone_into(&mut general.log_level);
        set(&["general", "log_level"], "-v", None);
    } else if let Some(level) = &global.log_level {
        general.log_level.clone_from(level);
        set(
            &["general", "log_level"],
            "--log-level",
            Some("KIMP_LOG_LEVEL"),
        );
    }
    if global.data_dir.is_some() {
        set(
            &["general", "data_dir"],
            "--data-dir",
            Some("KIMP_DATA_DIR"),
        );
    }
    if let Some(bind) = &global.bind {
        config.server.bind.clone_from(bind);
        set(&["server", "bind"], "--bind", Some("KIMP_BIND"));
    }
    if let Some(token) = &global.api_token {
        config.server.token.clone_from(token);
        set(&["server", "token"], "--api-token", Some("KIMP_API_TOKEN"));
    }
    if let Some(seed) = global.seed {
        config.simulator.seed = seed;
        set(&["simulator", "seed"], "--seed", Some("KIMP_SEED"));
    }
    overrides
}

/// `--data-dir`, else `general.data_dir` (`~/` expanded, relative to the config file's dir),
/// else the platform data dir.
fn resolve_data_dir(
    global: &GlobalArgs,
    configured: &str,
    file: Option<&Path>,
) -> Result<PathBuf, ConfigError> {
    if let Some(dir) = &global.data_dir {
        return Ok(dir.clone());
    }
    if configured.is_empty() {
        return Ok(default_paths()?.data_dir);
    }
    let home = || {
        BaseDirs::new()
            .map(|dirs| dirs.home_dir().to_path_buf())
            .ok_or(ConfigError::NoPlatformDirs)
    };
    let dir = if configured == "~" {
        home()?
    } else if let Some(rest) = configured.strip_prefix("~/") {
        home()?.join(rest)
    } else {
        PathBuf::from(configured)
    };
    match file.and_then(Path::parent) {
        Some(base) if dir.is_relative() => Ok(base.join(dir)),
        _ => Ok(dir),
    }
}

fn origin_of(
    path: &KeyPath,
    overrides: &[(KeyPath, Origin)],
    file: Option<(&Path, &str)>,
) -> Origin {
    if let Some((_, origin)) = overrides.iter().find(|(key, _)| path.0.starts_with(&key.0)) {
        return origin.clone();
    }
    file.and_then(|(file, text)| {
        line_of(text, path).map(|line| Origin::File {
            path: file.to_path_buf(),
            line,
        })
    })
    .unwrap_or(Origin::Default)
}
