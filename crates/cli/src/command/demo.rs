//! `rosterbridge demo`: the whole flow on one machine, no configuration needed.

use crate::exit::Code;
use crate::progress::Ui;
use anyhow::Context;
use rosterbridge_canvas_client::{CanvasClient, Token};
use rosterbridge_config::Config;
use rosterbridge_engine::{ApplyOptions, ApplyReport};
use rosterbridge_generate::DistrictSpec;
use rosterbridge_sandbox::{RunningSandbox, SandboxConfig};
use serde_json::Value;
use std::path::PathBuf;

/// Start an embedded Canvas sandbox, generate a district, sync it, show what Canvas holds
/// (read back through the Canvas API), then change about 1% of the district, sync again
/// and show that only the delta was sent. Everything lands in --dir for a closer look:
/// the district, the config, the state database and the archive of what was sent.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Working folder (emptied of earlier demo files first).
    #[arg(long, value_name = "DIR", default_value = "rosterbridge-demo")]
    pub dir: PathBuf,
    /// Students in the generated district.
    #[arg(long, default_value_t = 2000)]
    pub students: u32,
    /// Seed for the generated district.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Percent of the district changed before the second sync.
    #[arg(long, value_name = "PCT", default_value_t = 1.0)]
    pub change: f64,
}

const TOKEN: &str = "demo-token";

pub fn run(args: Args, ui: &Ui) -> anyhow::Result<Code> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let sandbox = runtime
        .block_on(RunningSandbox::start(SandboxConfig::new(
            "127.0.0.1:0".parse()?,
            TOKEN,
        )))
        .context("starting the embedded Canvas sandbox")?;
    println!(
        "== Canvas sandbox running at {} (in memory)",
        sandbox.base_url
    );
    let result = demo(&args, ui, &runtime, &sandbox.base_url);
    let _ = runtime.block_on(sandbox.stop());
    result
}

fn demo(
    args: &Args,
    ui: &Ui,
    runtime: &tokio::runtime::Runtime,
    url: &str,
) -> anyhow::Result<Code> {
    for stale in [
        "district",
        "rosterbridge.toml",
        "rosterbridge.state.db",
        "rosterbridge.state.db.archive",
    ] {
        let p = args.dir.join(stale);
        if p.is_dir() {
            std::fs::remove_dir_all(&p).with_context(|| format!("clearing {}", p.display()))?;
        } else if p.exists() {
            std::fs::remove_file(&p).with_context(|| format!("clearing {}", p.display()))?;
        }
    }
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("creating {}", args.dir.display()))?;
    let config_path = args.dir.join("rosterbridge.toml");
    std::fs::write(
        &config_path,
        format!("[source]\nkind = \"oneroster-csv\"\npath = \"district\"\n\n[canvas]\nurl = \"{url}\"\naccount_id = 1\ntoken_env = \"CANVAS_TOKEN\"\n"),
    )
    .with_context(|| format!("writing {}", config_path.display()))?;

    generate(args, 0.0)?;
    let config = Config::load(&config_path).map_err(|e| anyhow::anyhow!("{e}"))?;
    let client = rosterbridge_engine::canvas_client_with(&config, Token::new(TOKEN))?;

    println!("\n== first sync: the whole district");
    let first = sync(&config, &client, ui)?;
    show_report(&first);
    println!("\n== what Canvas holds now (read back through the API)");
    runtime.block_on(show_canvas(&client))?;

    println!("\n== the district changes by about {}%", args.change);
    generate(args, args.change)?;
    println!("\n== second sync: only the delta");
    let second = sync(&config, &client, ui)?;
    show_report(&second);
    if let Some(zip) = second
        .artifacts
        .iter()
        .find(|a| a.extension().is_some_and(|e| e == "zip"))
    {
        println!(
            "   sent {} row(s) in {} (the first sync sent {})",
            second.applied,
            zip.display(),
            first.applied
        );
    }
    println!(
        "\nAll files are in {}: try `rosterbridge status --config {}`",
        args.dir.display(),
        config_path.display()
    );
    Ok(if second.rejected > 0 || first.rejected > 0 {
        Code::PartialFailure
    } else {
        Code::Ok
    })
}

fn generate(args: &Args, change: f64) -> anyhow::Result<()> {
    let spec = DistrictSpec {
        students: args.students,
        seed: args.seed,
        change_pct: change,
    };
    let out = args.dir.join("district");
    let s = rosterbridge_generate::write_oneroster_csv(&spec, &out, &|_, _, _| {})
        .with_context(|| format!("generating a district into {}", out.display()))?;
    println!("   district: {} orgs, {} classes, {} users ({} students, {} teachers, {} parents), {} enrollments", s.orgs, s.classes, s.users, s.students, s.teachers, s.parents, s.enrollments);
    Ok(())
}

fn sync(config: &Config, client: &CanvasClient, ui: &Ui) -> anyhow::Result<ApplyReport> {
    let mut store = rosterbridge_engine::open_store(&config.state_path)?;
    let prepared = super::prepare(config, &store, ui)?;
    crate::report::print_diagnostics(&prepared.diagnostics);
    print!("{}", rosterbridge_plan::render::text(&prepared.plan, 0));
    let mut sink = rosterbridge_engine::canvas_sink_with(config, client.clone())?;
    Ok(rosterbridge_engine::apply(
        config,
        &mut store,
        &prepared,
        sink.as_mut(),
        ApplyOptions::default(),
        ui,
        "sync",
    )?)
}

fn show_report(r: &ApplyReport) {
    println!(
        "   run {}: {} ({} applied, {} rejected)",
        r.run,
        r.outcome.as_str(),
        r.applied,
        r.rejected
    );
    for x in r.rejections.iter().take(5) {
        println!(
            "   rejected {} {}: {}",
            x.kind,
            rosterbridge_plan::display(&x.key),
            x.message
        );
    }
    for a in &r.artifacts {
        println!("   kept {}", a.display());
    }
}

async fn show_canvas(client: &CanvasClient) -> anyhow::Result<()> {
    let accounts: Vec<Value> = client
        .get_all(
            "/api/v1/accounts/1/sub_accounts",
            &[("recursive", "true".into())],
        )
        .await?;
    let terms: Value = client
        .get("/api/v1/accounts/1/terms", &[("per_page", "100".into())])
        .await?;
    let users: Vec<Value> = client.get_all("/api/v1/accounts/1/users", &[]).await?;
    let courses: Vec<Value> = client.get_all("/api/v1/accounts/1/courses", &[]).await?;
    println!(
        "   {} sub-accounts, {} terms, {} users, {} courses",
        accounts.len(),
        terms
            .get("enrollment_terms")
            .and_then(Value::as_array)
            .map_or(0, Vec::len),
        users.len(),
        courses.len()
    );
    if let Some(course) = courses.first() {
        let id = course.get("id").and_then(Value::as_i64).unwrap_or_default();
        let enrollments: Vec<Value> = client
            .get_all(&format!("/api/v1/courses/{id}/enrollments"), &[])
            .await?;
        let mut by_type: std::collections::BTreeMap<String, usize> = Default::default();
        for e in &enrollments {
            *by_type
                .entry(
                    e.get("type")
                        .and_then(Value::as_str)
                        .unwrap_or("?")
                        .to_string(),
                )
                .or_default() += 1;
        }
        println!(
            "   e.g. course {} {:?}: {}",
            course
                .get("sis_course_id")
                .and_then(Value::as_str)
                .unwrap_or("?"),
            course.get("name").and_then(Value::as_str).unwrap_or("?"),
            by_type
                .iter()
                .map(|(t, n)| format!("{n} {t}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(())
}
