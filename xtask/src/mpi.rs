//! `cargo xtask mpi`: Open MPI from the distribution's packages, for the `mpi` feature
//! (`stratanet::distribute::Mpi`) and its test (`tests/distributed.rs`, run by
//! `cargo xtask test` under `mpirun -np 2`), and `cargo xtask mpi-bench`.
//!
//! rsmpi's build needs the MPI headers and library (`libopenmpi-dev`), `mpirun`
//! (`openmpi-bin`) and libclang for its bindgen step (`libclang-dev`). Installed with
//! `apt-get` (as root, else through `sudo`) when any is missing; idempotent.

use std::process::{Command, Stdio};

/// The Debian/Ubuntu packages, and what each must provide.
const PACKAGES: &[&str] = &["libopenmpi-dev", "openmpi-bin", "libclang-dev"];

/// Whether dpkg reports `package` installed.
fn installed(package: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", package])
        .stderr(Stdio::null())
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
        .unwrap_or(false)
}

/// Whether `mpirun --version` runs.
pub fn have_mpirun() -> bool {
    Command::new("mpirun")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// `apt-get ARGS`, through `sudo` unless root.
fn apt_get(args: &[&str]) -> Result<(), String> {
    let mut cmd = if is_root() {
        Command::new("apt-get")
    } else {
        let mut c = Command::new("sudo");
        c.arg("apt-get");
        c
    };
    cmd.args(args).env("DEBIAN_FRONTEND", "noninteractive");
    super::run(&mut cmd)
}

/// Installs the missing packages; reports `mpirun`'s version.
pub fn install() -> Result<(), String> {
    let missing: Vec<&str> = PACKAGES.iter().copied().filter(|p| !installed(p)).collect();
    if !missing.is_empty() {
        if Command::new("apt-get").arg("--version").output().is_err() {
            return Err(format!(
                "Open MPI is missing ({}) and there is no apt-get: install an MPI library \
                 with its headers, mpirun and libclang with your package manager",
                missing.join(", ")
            ));
        }
        eprintln!("xtask: installing {}", missing.join(" "));
        let mut args = vec!["install", "-y"];
        args.extend(&missing);
        if apt_get(&args).is_err() {
            // Stale package lists on a fresh machine: refresh once and retry.
            apt_get(&["update"])?;
            apt_get(&args)?;
        }
    }
    if !have_mpirun() {
        return Err("mpirun does not run after installing openmpi-bin".into());
    }
    let v = Command::new("mpirun")
        .arg("--version")
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .unwrap_or("")
                .to_string()
        })
        .unwrap_or_default();
    eprintln!("xtask: {v}");
    Ok(())
}
