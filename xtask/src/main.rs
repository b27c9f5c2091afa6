//! `cargo xtask <command>`: project automation.
//!
//! - `cargo xtask test`: every test of the workspace that this machine can run (today the
//!   candle engine: unit, conformance, integration and doc tests, plus the examples' build).
//!   The libtorch issue extends it with libtorch set-up and the tch tests.

use std::process::{Command, ExitCode};

fn cargo(args: &[&str]) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!("xtask: cargo {}", args.join(" "));
    let status = Command::new(&cargo)
        .args(args)
        .status()
        .map_err(|e| format!("could not run {cargo}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("cargo {} failed ({status})", args.join(" ")))
    }
}

fn test() -> Result<(), String> {
    cargo(&["test", "--workspace", "--exclude", "stratanet-tch"])?;
    cargo(&["build", "--release", "--examples"])?;
    Ok(())
}

fn usage() -> ExitCode {
    eprintln!("usage: cargo xtask <command>\n\ncommands:\n  test    run every test of the workspace (candle engine)");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test(),
        _ => return usage(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}
