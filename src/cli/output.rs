//! Terminal concerns: colour choice, logging setup, the confirmation prompt and the progress bar.

use std::io::{IsTerminal, Write};

use super::args::ColorChoice;
use crate::render::text::Style;

/// Whether stdout should be coloured.
#[must_use]
pub fn stdout_style(choice: ColorChoice) -> Style {
    Style {
        color: use_color(choice, std::io::stdout().is_terminal()),
    }
}

/// Whether stderr should be coloured.
#[must_use]
pub fn stderr_style(choice: ColorChoice) -> Style {
    Style {
        color: use_color(choice, std::io::stderr().is_terminal()),
    }
}

fn use_color(choice: ColorChoice, terminal: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
    }
}

/// Logs to stderr: by default iamspec's warnings only; `-v` the phases with timings, `-vv` one line per API call,
/// `-vvv` the SDK's own logs too. RUST_LOG overrides it.
pub fn init_logging(verbose: u8, color: bool) {
    // Other crates stay silent below -vvv: the SDK warns about every credential provider it tries, which is noise
    // when iamspec reports the failure itself, in one line with a hint.
    let directives = match verbose {
        0 => "iamspec=warn",
        1 => "iamspec=info",
        2 => "iamspec=debug",
        _ => "iamspec=trace,debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(directives));
    // Seconds since start rather than wall-clock time: the gaps between phases are the timings people ask -v for.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(color)
        .with_timer(tracing_subscriber::fmt::time::uptime())
        .with_target(verbose >= 3)
        .try_init();
}

/// Asks on the terminal; true only for "yes".
#[must_use]
pub fn confirm(question: &str) -> bool {
    eprint!("{question} Only 'yes' will be accepted: ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer).is_ok() && answer.trim() == "yes"
}

/// Reads an answer piped to stdin (`echo yes | iamspec apply`, as terraform accepts): true only for a first line
/// of exactly "yes". At most a short line is read, so a hostile or endless stdin costs nothing.
#[must_use]
pub fn piped_yes() -> bool {
    use std::io::{BufRead, Read};
    let mut line = String::new();
    let read = std::io::stdin().lock().take(64).read_line(&mut line);
    read.is_ok() && line.trim() == "yes"
}

/// Whether a person is at the keyboard.
#[must_use]
pub fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// A progress bar on stderr for applies, drawn only on a terminal.
#[must_use]
pub fn progress(total: usize) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() || total < 2 {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(total as u64),
        indicatif::ProgressDrawTarget::stderr(),
    );
    // The prefix names the account when many apply at once; empty otherwise.
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{prefix}{spinner} [{bar:30}] {pos}/{len} {wide_msg}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// The bars of a many-account apply, one per account, drawn together on stderr (on a terminal only).
#[must_use]
pub fn progress_group() -> indicatif::MultiProgress {
    if std::io::stderr().is_terminal() {
        indicatif::MultiProgress::new()
    } else {
        indicatif::MultiProgress::with_draw_target(indicatif::ProgressDrawTarget::hidden())
    }
}

/// Stdout for long outputs. Rust's stdout is line-buffered: a plan of 100,000 new users is ten million lines,
/// and as many `write` calls without this buffer. Callers flush it (and see the error) when done.
pub fn buffered_stdout() -> std::io::BufWriter<std::io::StdoutLock<'static>> {
    std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout().lock())
}
