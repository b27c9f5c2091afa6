//! The Keras-style progress display.

use super::{format_value, BatchEnd, Callback, CallbackContext, EpochEnd, Logs};
use crate::error::Result;
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// Prints `Epoch 3/20` and, on a terminal with `verbose = 1`, a live bar
/// (`12/45 ━━━━━━━━━━━━━━━━━━━━ 0s 4ms/step - accuracy: 0.9612 - loss: 0.1299`); with
/// `verbose = 2`, or when standard output is not a terminal, one line per epoch
/// (`45/45 - 0s - 2ms/step - accuracy: ... - val_loss: ...`).
#[derive(Debug)]
pub struct ProgressBar {
    verbose: u8,
    live: bool,
    bar: Option<indicatif::ProgressBar>,
    epoch_start: Instant,
    last_draw: Option<Instant>,
    steps_done: usize,
}

/// Minimum time between live redraws (each redraw reads the running logs from the device).
const REDRAW: Duration = Duration::from_millis(100);

fn format_time(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 60.0 {
        format!("{}s", s.round() as u64)
    } else {
        format!(
            "{}m {}s",
            (s / 60.0).floor() as u64,
            (s % 60.0).round() as u64
        )
    }
}

fn format_per_step(d: Duration, steps: usize) -> String {
    if steps == 0 {
        return "0ms/step".into();
    }
    let us = d.as_secs_f64() * 1e6 / steps as f64;
    if us >= 1e6 {
        format!("{}s/step", (us / 1e6).round() as u64)
    } else if us >= 1e3 {
        format!("{}ms/step", (us / 1e3).round() as u64)
    } else {
        format!("{}us/step", us.round() as u64)
    }
}

impl ProgressBar {
    /// A progress display with the given verbosity (0 prints nothing).
    pub fn new(verbose: u8) -> Self {
        Self {
            verbose,
            live: verbose == 1 && std::io::stdout().is_terminal(),
            bar: None,
            epoch_start: Instant::now(),
            last_draw: None,
            steps_done: 0,
        }
    }

    fn message(&self, elapsed_or_eta: Duration, logs: &Logs) -> String {
        let mut s = format!(
            "{} {}",
            format_time(elapsed_or_eta),
            format_per_step(self.epoch_start.elapsed(), self.steps_done)
        );
        for (k, v) in logs.iter() {
            s.push_str(&format!(" - {k}: {}", format_value(v)));
        }
        s
    }
}

impl Callback for ProgressBar {
    fn on_epoch_begin(&mut self, epoch: usize, ctx: &mut CallbackContext<'_>) -> Result<()> {
        let state = &*ctx.state;
        if self.verbose == 0 {
            return Ok(());
        }
        println!("Epoch {}/{}", epoch + 1, state.epochs);
        self.epoch_start = Instant::now();
        self.steps_done = 0;
        self.last_draw = None;
        if self.live {
            // `steps == 0`: the length is not known yet (a streamed dataset's first epoch):
            // Keras' `12/Unknown` display, without a bar.
            let known = state.steps > 0;
            let bar = indicatif::ProgressBar::with_draw_target(
                known.then_some(state.steps as u64),
                indicatif::ProgressDrawTarget::stdout(),
            );
            let template = if known {
                "{pos}/{len} {bar:20.green/dim} {msg}"
            } else {
                "{pos}/Unknown {msg}"
            };
            let style = indicatif::ProgressStyle::with_template(template)
                .map(|s| s.progress_chars("━━━"))
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
            bar.set_style(style);
            self.bar = Some(bar);
        }
        Ok(())
    }

    fn on_train_batch_end(&mut self, end: BatchEnd<'_>) -> Result<()> {
        let BatchEnd { step, logs, ctx } = end;
        let state = &*ctx.state;
        self.steps_done = step + 1;
        let Some(bar) = &self.bar else { return Ok(()) };
        let now = Instant::now();
        let due = self
            .last_draw
            .is_none_or(|t| now.duration_since(t) >= REDRAW);
        if due || step + 1 == state.steps {
            let l = logs.logs()?;
            let elapsed = self.epoch_start.elapsed();
            // The time left, or (length unknown) the time so far.
            let eta = if state.steps > 0 {
                elapsed.mul_f64(state.steps.saturating_sub(step + 1) as f64 / (step + 1) as f64)
            } else {
                elapsed
            };
            let msg = self.message(eta, &l);
            bar.set_position((step + 1) as u64);
            bar.set_message(msg);
            self.last_draw = Some(now);
        }
        Ok(())
    }

    fn on_epoch_end(&mut self, end: EpochEnd<'_>) -> Result<()> {
        let EpochEnd { logs, ctx, .. } = end;
        let state = &*ctx.state;
        if self.verbose == 0 {
            return Ok(());
        }
        let elapsed = self.epoch_start.elapsed();
        // With an unknown length, the steps that ran are the epoch's length.
        let steps = if state.steps > 0 {
            state.steps
        } else {
            self.steps_done
        };
        if let Some(bar) = self.bar.take() {
            bar.set_position(steps as u64);
            let msg = self.message(elapsed, logs);
            bar.finish_with_message(msg);
        } else {
            let mut line = format!(
                "{}/{} - {} - {}",
                self.steps_done,
                steps,
                format_time(elapsed),
                format_per_step(elapsed, self.steps_done)
            );
            for (k, v) in logs.iter() {
                line.push_str(&format!(" - {k}: {}", format_value(v)));
            }
            println!("{line}");
        }
        let _ = std::io::stdout().flush();
        Ok(())
    }
}
