//! The command line: global flags, subcommands and their `KIMP_…` env vars (SPEC §2).
//!
//! clap merges flags and env vars (flag wins) into [`GlobalArgs`]; [`crate::config::load`] then
//! layers those over the config file and the built-in defaults. Only flags that work are offered:
//! a flag that parses but does nothing is worse than a missing one.

use std::path::PathBuf;

use clap::builder::{BoolishValueParser, PossibleValue, PossibleValuesParser};
use clap::{ArgAction, Args, Parser, Subcommand};

use crate::config::{
    DOMESTIC_VENUES, OVERSEAS_VENUES, parse_bind_addr, parse_bind_ip, parse_log_level,
    parse_rate_multiplier,
};
use crate::model::Venue;
use crate::server::Role;

const ABOUT: &str = "Kimchi premium (김프) terminal dashboard with an embedded collector";

const LONG_ABOUT: &str = "\
Kimchi premium (김프) terminal dashboard with an embedded collector.

kimp collects live prices straight from the exchanges' public WebSocket and REST APIs, computes the
premium of every coin listed on a Korean won exchange over a global dollar exchange, and shows it in
a full-screen terminal dashboard. With --demo it runs against a built-in exchange simulator instead
(offline, deterministic with --seed).

Every option can also be set through its KIMP_… environment variable and, where it has one, the
config file key. Precedence: flag > env var > config file > built-in default.";

const EXAMPLES: &str = "\
Examples:
  kimp                          dashboard with live data from Upbit and Binance
  kimp --demo --seed 7          dashboard fed by the simulator, same data on every run
  kimp snapshot --json          print the premium table once as JSON and exit
  kimp snapshot --wait 10       collect for exactly 10 s, print the table, exit
  kimp --remote http://host:8000
                                dashboard of another kimp's API (kimp --serve), no collectors
  kimp --demo --record run.jsonl.zst
                                dashboard as usual; every raw frame recorded (zstd)
  kimp snapshot --replay run.jsonl.zst --json
                                the state at the end of a recording, no network
  kimp simulate --bind 127.0.0.1:9100
                                run the exchange simulator alone for other clients
  kimp --demo --serve --headless
                                serve the API on 127.0.0.1:8000-8002, no dashboard
  kimp config --print           show the effective merged configuration
  KIMP_LOG_LEVEL=debug kimp -v  env vars work for every global option";

/// `kimp [OPTIONS] [COMMAND]`: without a command, the dashboard.
#[derive(Debug, Parser)]
#[command(
    name = "kimp",
    version,
    about = ABOUT,
    long_about = LONG_ABOUT,
    after_help = EXAMPLES,
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub global: GlobalArgs,
}

/// Options every command understands, before or after the subcommand name.
///
/// Help texts are attributes, not doc comments, so they can name config keys without rustdoc
/// markup. clap is built without `wrap_help`, so long help is wrapped by hand (≤ 90 columns).
#[derive(Debug, Args, Default)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "independent on/off flags, each with its env var"
)]
pub struct GlobalArgs {
    #[arg(
        long,
        global = true,
        env = "KIMP_DEMO",
        action = ArgAction::SetTrue,
        value_parser = BoolishValueParser::new(),
        hide_env_values = true,
        help = "Use the built-in exchange simulator instead of the exchanges",
        long_help = "Use the built-in exchange simulator instead of the real exchanges.\n\
                     Works offline; the simulator speaks the real protocols on loopback.\n\
                     The env var accepts 1/0, true/false, yes/no, on/off."
    )]
    pub demo: bool,

    #[arg(
        long,
        global = true,
        env = "KIMP_SEED",
        value_name = "N",
        hide_env_values = true,
        help = "Simulator seed: the same seed gives the same data",
        long_help = "Simulator seed: the same seed gives the same data.\n\
                     Config key: simulator.seed (default 1)."
    )]
    pub seed: Option<u64>,

    #[arg(
        long,
        global = true,
        env = "KIMP_CONFIG",
        value_name = "FILE",
        hide_env_values = true,
        help = "Config file [default: see `kimp config --path`]",
        long_help = "Config file. It must exist when given.\n\
                     Default: config.toml in the platform config dir (see `kimp config --path`);\n\
                     if that does not exist, the built-in defaults apply."
    )]
    pub config: Option<PathBuf>,

    #[arg(
        long,
        global = true,
        env = "KIMP_DATA_DIR",
        value_name = "DIR",
        hide_env_values = true,
        help = "Directory for logs and the history database",
        long_help = "Directory for logs and the history database (kimp.db; kimp-demo.db with --demo).\n\
                     Config key: general.data_dir. Default: the platform data dir."
    )]
    pub data_dir: Option<PathBuf>,

    #[arg(
        long,
        global = true,
        env = "KIMP_NO_PERSIST",
        action = ArgAction::SetTrue,
        value_parser = BoolishValueParser::new(),
        hide_env_values = true,
        help = "Keep liquidation and premium history in memory only",
        long_help = "Keep liquidation and premium history in memory only: nothing is read from or\n\
                     written to the database, so a restart starts empty."
    )]
    pub no_persist: bool,

    #[arg(
        long,
        global = true,
        env = "KIMP_DOMESTIC",
        value_name = "VENUE",
        value_parser = venue_parser(DOMESTIC_VENUES),
        hide_env_values = true,
        help = "Korean won venue of the premium columns",
        long_help = "Korean won venue of the premium columns.\n\
                     Config key: general.domestic (default upbit)."
    )]
    pub domestic: Option<String>,

    #[arg(
        long,
        global = true,
        env = "KIMP_OVERSEAS",
        value_name = "VENUE",
        value_parser = venue_parser(OVERSEAS_VENUES),
        hide_env_values = true,
        help = "Global dollar venue of the premium columns",
        long_help = "Global dollar venue of the premium columns.\n\
                     Config key: general.overseas (default binance)."
    )]
    pub overseas: Option<String>,

    #[arg(
        long,
        global = true,
        env = "KIMP_LOG_LEVEL",
        value_name = "LEVEL",
        value_parser = parse_log_level,
        hide_env_values = true,
        help = "Log filter: error, warn, info, debug or trace",
        long_help = "Log filter: error, warn, info, debug, trace, or tracing directives\n\
                     such as kimp::feed=debug,info. RUST_LOG, if set, wins.\n\
                     Config key: general.log_level (default info)."
    )]
    pub log_level: Option<String>,

    #[arg(
        long,
        env = "KIMP_SERVE",
        action = ArgAction::SetTrue,
        conflicts_with = "remote",
        value_parser = BoolishValueParser::new(),
        hide_env_values = true,
        help = "Also serve the REST + WebSocket API (gateway 8000, market 8001, liquidations 8002)",
        long_help = "Also serve the REST + WebSocket API: gateway on 8000, market data on 8001,\n\
                     liquidations on 8002 (config keys server.*_port). Without a terminal on\n\
                     stdout, or with --headless, only the API runs; logs go to stderr.\n\
                     Stop with Ctrl-C or SIGTERM."
    )]
    pub serve: bool,

    #[arg(
        long,
        env = "KIMP_HEADLESS",
        action = ArgAction::SetTrue,
        value_parser = BoolishValueParser::new(),
        hide_env_values = true,
        requires = "serve",
        help = "With --serve: no dashboard, only the API (implied when stdout is not a terminal)"
    )]
    pub headless: bool,

    #[arg(
        long,
        env = "KIMP_BIND",
        value_name = "ADDR",
        value_parser = parse_bind_ip_arg,
        hide_env_values = true,
        help = "With --serve: listen address of the API [default: 127.0.0.1]",
        long_help = "With --serve: listen address of the API, an IP address. 0.0.0.0 exposes it\n\
                     to the network and then needs a token (server.token or KIMP_API_TOKEN).\n\
                     Config key: server.bind (default 127.0.0.1)."
    )]
    pub bind: Option<String>,

    #[arg(
        long,
        env = "KIMP_API_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true,
        help = "With --serve: bearer token the API requires; with --remote: the one sent",
        long_help = "With --serve: bearer token every API request but /health must carry\n\
                     (Authorization: Bearer TOKEN). With --remote: the token sent to the server.\n\
                     Prefer the env var KIMP_API_TOKEN: other users can see command-line flags.\n\
                     Config key: server.token (default none)."
    )]
    pub api_token: Option<String>,

    #[arg(
        long,
        env = "KIMP_ROLE",
        value_name = "ROLE",
        value_parser = PossibleValuesParser::new(Role::ALL.map(Role::as_str)),
        hide_env_values = true,
        requires = "serve",
        help = "With --serve: which services run [default: all]",
        long_help = "With --serve: which services (and collectors) this process runs.\n\
                     all: gateway 8000, market 8001 and liquidations 8002, every collector;\n\
                     market: market collectors and 8001; liquidation: liquidation collectors\n\
                     and 8002; gateway: no exchange collectors, 8000 served from the two\n\
                     services at --market-url and --liquidation-url (plus its own coin-name\n\
                     and fear & greed pollers)."
    )]
    pub role: Option<String>,

    #[arg(
        long,
        env = "KIMP_MARKET_URL",
        value_name = "URL",
        value_parser = crate::remote::parse_url,
        hide_env_values = true,
        help = "With --role gateway: the market service (e.g. http://a:8001)",
        long_help = "With --role gateway: the market data service whose /ws/market stream the\n\
                     gateway serves, e.g. http://a:8001 (a kimp --serve --role market)."
    )]
    pub market_url: Option<String>,

    #[arg(
        long,
        env = "KIMP_LIQUIDATION_URL",
        value_name = "URL",
        value_parser = crate::remote::parse_url,
        hide_env_values = true,
        help = "With --role gateway: the liquidation service (e.g. http://b:8002)",
        long_help = "With --role gateway: the liquidation service whose /ws/liquidations stream\n\
                     the gateway serves, e.g. http://b:8002 (a kimp --serve --role liquidation)."
    )]
    pub liquidation_url: Option<String>,

    #[arg(
        long,
        global = true,
        env = "KIMP_REMOTE",
        value_name = "URL",
        value_parser = crate::remote::parse_url,
        conflicts_with = "demo",
        hide_env_values = true,
        help = "Show another kimp's data (its API gateway, e.g. http://host:8000), no collectors",
        long_help = "Run no collectors: the dashboard (or snapshot) shows the data of another\n\
                     kimp's API gateway (kimp --serve), e.g. http://host:8000, read from its\n\
                     /ws/prices and /ws/liquidations streams. The feed row remote.link shows the\n\
                     connection. The server's venue pair is shown (d/o cannot switch it).\n\
                     A token from KIMP_API_TOKEN / server.token is sent as a bearer token."
    )]
    pub remote: Option<String>,

    #[arg(
        long,
        global = true,
        env = "KIMP_RECORD",
        value_name = "FILE",
        conflicts_with_all = ["remote", "replay"],
        hide_env_values = true,
        help = "Record every raw frame, REST body and feed status to FILE (JSON lines; .zst: zstd)",
        long_help = "Record every raw WebSocket frame, REST body and feed status as it arrives to\n\
                     FILE, one JSON object per line (README: Recording format); a name ending in\n\
                     .zst is zstd-compressed. Works with the dashboard, --serve, snapshot and\n\
                     --demo. Never slows the feeds: records the writer cannot keep up with are\n\
                     dropped and counted. The file is closed on exit (q, Ctrl-C, SIGTERM)."
    )]
    pub record: Option<PathBuf>,

    #[arg(
        long,
        global = true,
        env = "KIMP_REPLAY",
        value_name = "FILE",
        conflicts_with_all = ["remote", "demo"],
        hide_env_values = true,
        help = "Replay a recording (--record) through the same parsers, no network",
        long_help = "Replay a recording made with --record (plain or .zst) through the same\n\
                     parsers and state as live feeds, with no network connection. Works with the\n\
                     dashboard, --serve and snapshot (which prints the state at the end of the\n\
                     recording). Corrupt lines are skipped, reported with their line numbers."
    )]
    pub replay: Option<PathBuf>,

    #[arg(
        long,
        global = true,
        env = "KIMP_SPEED",
        value_name = "X|max",
        value_parser = parse_speed,
        requires = "replay",
        hide_env_values = true,
        help = "With --replay: recorded pace times X, or max [default: 1; snapshot: max]"
    )]
    pub speed: Option<crate::replay::Speed>,

    #[arg(
        short,
        long,
        global = true,
        action = ArgAction::Count,
        help = "More log detail: -v debug, -vv trace (beats --log-level)"
    )]
    pub verbose: u8,
}

/// What to run instead of the dashboard.
#[derive(Debug, Subcommand)]
pub enum Command {
    #[command(
        about = "Collect once, print the premium table (or JSON) and exit",
        long_about = "Collect once, print the premium table (or JSON) and exit.\n\n\
                      Connects to every enabled feed and waits until each has delivered data\n\
                      (at most 30 s), or for exactly --wait seconds, then prints the premium\n\
                      table once and exits. Made for scripts and cron."
    )]
    Snapshot(SnapshotArgs),
    #[command(
        about = "Run the exchange simulator alone",
        long_about = "Run the exchange simulator alone.\n\n\
                      Serves simulated exchange endpoints that speak the real protocols, for\n\
                      tests, demos, benchmarks and other clients. Stop it with Ctrl-C."
    )]
    Simulate(SimulateArgs),
    #[command(about = "Show the effective configuration or where kimp's files live")]
    Config(ConfigArgs),
    #[command(
        about = "Check every configured endpoint and explain what is wrong",
        long_about = "Check every configured endpoint and explain what is wrong.\n\n\
                      Resolves, connects and subscribes every enabled feed (running the real\n\
                      collectors for a bounded window), flags silent subscriptions, dropped\n\
                      connections and unparseable frames, compares streamed BTC prices with\n\
                      REST tickers and reports every FX source's age. Exit status 0 when every\n\
                      required check passed, 1 when one failed, 2 for a bad configuration.\n\
                      With --demo, the checks run against the built-in simulator (and its\n\
                      [simulator] faults)."
    )]
    Doctor(DoctorArgs),
}

/// `kimp doctor [--json] [--window SECS]`
#[derive(Debug, Args, Default)]
pub struct DoctorArgs {
    #[arg(long, help = "Print the report as JSON instead of the table")]
    pub json: bool,

    #[arg(
        long,
        env = "KIMP_DOCTOR_WINDOW",
        value_name = "SECS",
        value_parser = clap::value_parser!(u64).range(1..=60),
        hide_env_values = true,
        help = "Longest wait for every feed's first data [default: 10]",
        long_help = "Longest wait for every feed's first data, 1 to 60 seconds [default: 10].\n\
                     The run ends sooner once every feed has delivered."
    )]
    pub window: Option<u64>,
}

/// `kimp snapshot [--json] [--wait SECS]`
#[derive(Debug, Args, Default)]
pub struct SnapshotArgs {
    #[arg(long, help = "Print the JSON document of the API instead of the table")]
    pub json: bool,

    #[arg(
        long,
        value_name = "SECS",
        value_parser = clap::value_parser!(u64).range(1..),
        help = "Collect for exactly SECS seconds",
        long_help = "Collect for exactly SECS seconds instead of until every enabled feed\n\
                     has delivered (at most 30 s)."
    )]
    pub wait: Option<u64>,
}

/// `kimp simulate [--bind ADDR]`
#[derive(Debug, Args, Default)]
pub struct SimulateArgs {
    #[arg(
        long,
        env = "KIMP_SIM_BIND",
        value_name = "ADDR",
        value_parser = parse_bind_addr,
        hide_env_values = true,
        help = "Listen address, host:port",
        long_help = "Listen address, host:port (port 0 = any free port).\n\
                     Config key: simulator.bind (default 127.0.0.1:9100)."
    )]
    pub bind: Option<String>,

    #[arg(
        long = "fault",
        env = "KIMP_SIM_FAULTS",
        value_name = "VENUE:KNOB[=VALUE]",
        value_parser = parse_fault_arg,
        value_delimiter = ',',
        action = ArgAction::Append,
        hide_env_values = true,
        help = "Turn a fault knob on at start (repeatable; e.g. binance_futures:moved)",
        long_help = "Turn a fault knob on at start; repeat the flag or separate with commas.\n\
                     VENUE: upbit, binance, fx, bithumb, bybit, okx, fear_greed,\n\
                     binance_futures, bybit_linear, bitmex, or all. KNOB: silent, moved,\n\
                     malformed=N (every Nth frame), rest_delay=MS, rest_status=CODE (400-599),\n\
                     drop_every=SECS. Replaces the config key simulator.faults (default none)."
    )]
    pub faults: Vec<String>,

    #[arg(
        long,
        env = "KIMP_SIM_RATE_MULTIPLIER",
        value_name = "X",
        value_parser = parse_rate_multiplier,
        hide_env_values = true,
        help = "Message rate multiplier (1 = the real rate)",
        long_help = "Message rate multiplier, 0.01 to 1000 (1 = the real venues' rate).\n\
                     Config key: simulator.rate_multiplier (default 1)."
    )]
    pub rate_multiplier: Option<f64>,
}

/// `--fault`: a valid fault spec, kept as written (trimmed).
fn parse_fault_arg(text: &str) -> Result<String, String> {
    text.parse::<crate::sim::FaultSpec>()
        .map(|_| text.trim().to_owned())
}

/// `kimp config [--print|--path]`
#[derive(Debug, Args, Default)]
pub struct ConfigArgs {
    #[arg(
        long,
        conflicts_with = "path",
        help = "Print the effective configuration as TOML (the default)",
        long_help = "Print the effective configuration as TOML: defaults, the config file,\n\
                     env vars and flags merged. This is the default."
    )]
    pub print: bool,

    #[arg(long, help = "Print the config file and data directory paths")]
    pub path: bool,
}

/// `--bind`: an IP address, kept as written.
fn parse_bind_ip_arg(text: &str) -> Result<String, String> {
    parse_bind_ip(text).map(|_| text.trim().to_owned())
}

/// Accepts exactly the venues in `venues` (the implemented ones), listed in `--help`.
fn venue_parser(venues: &[Venue]) -> PossibleValuesParser {
    PossibleValuesParser::new(
        venues
            .iter()
            .map(|venue| PossibleValue::new(venue.as_str()))
            .collect::<Vec<_>>(),
    )
}

/// `--speed`: `max` or a positive factor.
fn parse_speed(text: &str) -> Result<crate::replay::Speed, String> {
    crate::replay::Speed::parse(text)
}
