//! `rosterbridge config`: configuration helpers.

use crate::exit::Code;
use crate::progress::Ui;

/// Configuration helpers.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Print a fully commented example configuration covering every option (it parses as
    /// is; adapt the source and Canvas sections).
    Example,
}

pub fn run(command: Command, _ui: &Ui) -> anyhow::Result<Code> {
    match command {
        Command::Example => {
            print!("{}", rosterbridge_config::example::EXAMPLE);
            Ok(Code::Ok)
        }
    }
}
