//! `rosterbridge bench`: the planning benchmark. Each measured step runs as its own
//! process so that its peak memory is its own.

use crate::exit::Code;
use crate::progress::Ui;
use anyhow::{bail, Context};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// Measure planning at scale: generate a district, time the first full plan, apply it
/// (folder sink), time a no-change plan and a 1%-change plan, and report peak memory of
/// each step. Optionally a large first plan (--large). Prints a Markdown table.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Students in the main district.
    #[arg(long, value_name = "N", default_value_t = 200_000)]
    pub students: u32,
    /// Also time a first full plan of a district this large (0 = skip).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub large: u32,
    /// Working folder (default: a fresh temporary folder, removed afterwards).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Run each plan this many times and report the best and the median time (on a
    /// shared machine one run can be off by a third).
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub repeat: u32,
}

struct Step {
    name: String,
    /// Wall time of each run, sorted.
    seconds: Vec<f64>,
    peak_rss_mb: Option<f64>,
}

impl Step {
    fn best(&self) -> f64 {
        self.seconds.first().copied().unwrap_or(0.0)
    }
    fn median(&self) -> f64 {
        self.seconds
            .get(self.seconds.len() / 2)
            .copied()
            .unwrap_or(0.0)
    }
}

fn run_step(name: &str, dir: &Path, args: &[&str], ok_codes: &[i32]) -> anyhow::Result<Step> {
    let exe = std::env::current_exe().context("finding the rosterbridge executable")?;
    let start = Instant::now();
    let out = Command::new(exe)
        .args(args)
        .arg("--quiet")
        .env("ROSTERBRIDGE_REPORT_PEAK_RSS", "1")
        .current_dir(dir)
        .output()
        .with_context(|| format!("running {name}"))?;
    let seconds = start.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let code = out.status.code().unwrap_or(-1);
    if !ok_codes.contains(&code) {
        bail!("{name} exited with {code}:\n{stderr}");
    }
    let peak_rss_mb = stderr
        .lines()
        .find_map(|l| l.strip_prefix("peak_rss_kb="))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .map(|kb| kb / 1024.0);
    Ok(Step {
        name: name.to_string(),
        seconds: vec![seconds],
        peak_rss_mb,
    })
}

fn write_config(path: &Path, source: &str) -> anyhow::Result<()> {
    let text = format!(
        "[source]\nkind = \"oneroster-csv\"\npath = \"{source}\"\non_row_error = \"skip\"\n\n[canvas]\nurl = \"http://127.0.0.1:8089\"\naccount_id = 1\n\n[state]\npath = \"state.db\"\n\n[safety]\nmax_removal_percent = 100\n"
    );
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

pub fn run(args: Args, ui: &Ui) -> anyhow::Result<Code> {
    let temp;
    let dir = match &args.dir {
        Some(d) => {
            std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
            d.clone()
        }
        None => {
            temp = tempfile::tempdir().context("creating a temporary folder")?;
            temp.path().to_path_buf()
        }
    };
    let _ = std::fs::remove_file(dir.join("state.db"));
    let n = args.students.to_string();
    let seed = args.seed.to_string();
    let mut steps = Vec::new();
    // Plans (which change nothing) run `repeat` times; the rest once.
    let mut step = |name: &str, a: &[&str], ok: &[i32]| -> anyhow::Result<()> {
        let runs = if a.first() == Some(&"plan") {
            args.repeat
        } else {
            1
        };
        let mut all: Option<Step> = None;
        for run in 1..=runs {
            ui.note(&format!("bench: {name} ({run} of {runs}) …"));
            let s = run_step(name, &dir, a, ok)?;
            ui.note(&format!(
                "bench: {name}: {:.2} s, peak {:.0} MB",
                s.best(),
                s.peak_rss_mb.unwrap_or(0.0)
            ));
            all = Some(match all {
                None => s,
                Some(mut acc) => {
                    acc.seconds.extend(s.seconds);
                    acc.peak_rss_mb = match (acc.peak_rss_mb, s.peak_rss_mb) {
                        (Some(a), Some(b)) => Some(a.max(b)),
                        (a, b) => a.or(b),
                    };
                    acc
                }
            });
        }
        if let Some(mut s) = all {
            s.seconds.sort_by(f64::total_cmp);
            steps.push(s);
        }
        Ok(())
    };
    step(
        &format!("generate {n} students"),
        &[
            "generate",
            "--students",
            &n,
            "--seed",
            &seed,
            "--out",
            "base",
        ],
        &[0],
    )?;
    step(
        &format!("generate {n} students, 1% changed"),
        &[
            "generate",
            "--students",
            &n,
            "--seed",
            &seed,
            "--change",
            "1",
            "--out",
            "changed",
        ],
        &[0],
    )?;
    write_config(&dir.join("base.toml"), "base")?;
    write_config(&dir.join("changed.toml"), "changed")?;
    step(
        "full first plan",
        &["plan", "--config", "base.toml", "--changes", "0"],
        &[0, 2],
    )?;
    step(
        "apply (folder sink, records state)",
        &[
            "apply",
            "--config",
            "base.toml",
            "--sink",
            "folder",
            "--out",
            "out",
        ],
        &[0],
    )?;
    step(
        "no-change plan",
        &["plan", "--config", "base.toml", "--changes", "0"],
        &[0, 2],
    )?;
    step(
        "1%-change plan",
        &["plan", "--config", "changed.toml", "--changes", "0"],
        &[0, 2],
    )?;
    if args.large > 0 {
        let l = args.large.to_string();
        step(
            &format!("generate {l} students"),
            &[
                "generate",
                "--students",
                &l,
                "--seed",
                &seed,
                "--out",
                "large",
            ],
            &[0],
        )?;
        write_config(&dir.join("large.toml"), "large")?;
        let _ = std::fs::remove_file(dir.join("state.db"));
        step(
            &format!("full first plan, {l} students"),
            &["plan", "--config", "large.toml", "--changes", "0"],
            &[0, 2],
        )?;
    }

    println!("| step | runs | best s | median s | peak RSS (MB) |");
    println!("|---|---:|---:|---:|---:|");
    for s in &steps {
        let rss = s
            .peak_rss_mb
            .map(|m| format!("{m:.0}"))
            .unwrap_or_else(|| "?".into());
        println!(
            "| {} | {} | {:.2} | {:.2} | {} |",
            s.name,
            s.seconds.len(),
            s.best(),
            s.median(),
            rss
        );
    }
    println!(
        "\n(`rosterbridge bench --students {} --large {} --repeat {}` on {} cores)",
        args.students,
        args.large,
        args.repeat,
        std::thread::available_parallelism()
            .map(|p| p.get())
            .unwrap_or(1)
    );
    Ok(Code::Ok)
}
