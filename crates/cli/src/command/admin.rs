//! `rosterbridge admin`: the accounts that may log in to `rosterbridge serve`.

use crate::exit::Code;
use crate::progress::Ui;
use rosterbridge_server::admins::{db_path, AdminStore};
use std::io::BufRead;
use std::path::PathBuf;

/// Manage the admin accounts of `rosterbridge serve` (kept in `<config>.server.db`, mode
/// 0600; passwords stored as Argon2id hashes). Passwords are read from standard input (one
/// line), never from the command line.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Create an admin account; the password (at least 12 characters) is read from stdin.
    Create {
        name: String,
        #[arg(long, short, value_name = "FILE", default_value = "rosterbridge.toml")]
        config: PathBuf,
    },
    /// Set a new password (read from stdin) and close the account's sessions.
    Passwd {
        name: String,
        #[arg(long, short, value_name = "FILE", default_value = "rosterbridge.toml")]
        config: PathBuf,
    },
    /// List the admin accounts.
    List {
        #[arg(long, short, value_name = "FILE", default_value = "rosterbridge.toml")]
        config: PathBuf,
    },
    /// Delete an admin account and its sessions.
    Delete {
        name: String,
        #[arg(long, short, value_name = "FILE", default_value = "rosterbridge.toml")]
        config: PathBuf,
    },
}

fn read_password() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

pub fn run(command: Command, ui: &Ui) -> anyhow::Result<Code> {
    let (config, name) = match &command {
        Command::Create { config, name }
        | Command::Passwd { config, name }
        | Command::Delete { config, name } => (config, Some(name.as_str())),
        Command::List { config } => (config, None),
    };
    let store = AdminStore::open(&db_path(config))?;
    let outcome = match (&command, name) {
        (Command::Create { .. }, Some(name)) => {
            ui.note("password (at least 12 characters), then Enter:");
            store
                .create(name, &read_password()?)
                .map(|()| println!("admin {name} created"))
        }
        (Command::Passwd { .. }, Some(name)) => {
            ui.note("new password (at least 12 characters), then Enter:");
            store
                .set_password(name, &read_password()?)
                .map(|()| println!("password of {name} changed; its sessions were closed"))
        }
        (Command::Delete { .. }, Some(name)) => store
            .delete(name)
            .map(|()| println!("admin {name} deleted")),
        _ => store
            .list()
            .map(|names| names.iter().for_each(|n| println!("{n}"))),
    };
    match outcome {
        Ok(()) => Ok(Code::Ok),
        Err(e) => {
            eprintln!("error: {e}");
            Ok(Code::Error)
        }
    }
}
