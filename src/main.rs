//! The `kimp` binary: parse the command line, load the config, start logging, run, exit.
//! Everything else lives in the library.

use std::process::ExitCode;

use clap::Parser;
use kimp::cli::Cli;

fn main() -> ExitCode {
    let cli = Cli::parse();
    kimp::run(cli)
}
