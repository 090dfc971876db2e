//! Entry point: parse, run, print errors once, map them to exit codes.

use std::io::Write;

use clap::Parser;

use super::args::Cli;
use super::error::CliError;
use super::{commands, exit, output};

use crate::display::{escape, Escaped};
use crate::spec::Diagnostics;

/// Runs the CLI with the process's arguments and returns the exit code.
#[must_use]
pub fn main() -> u8 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    exit::OK
                }
                // Usage errors exit 1, not clap's 2: a typo must never read as "changes present".
                _ => exit::ERROR,
            };
            let _ = e.print();
            // `iamspec plan spec.yaml`: the spec is given with -f.
            if e.kind() == clap::error::ErrorKind::UnknownArgument {
                if let Some(clap::error::ContextValue::String(arg)) =
                    e.get(clap::error::ContextKind::InvalidArg)
                {
                    if !arg.starts_with('-') && (arg.ends_with(".yaml") || arg.ends_with(".yml")) {
                        let command: Vec<String> = std::env::args()
                            .skip(1)
                            .map(|a| if a == *arg { format!("-f {a}") } else { a })
                            .collect();
                        eprintln!(
                            "\nhint: give the spec with -f: `iamspec {}`",
                            escape(&command.join(" "))
                        );
                    }
                }
            }
            return code;
        }
    };
    let err_style = output::stderr_style(cli.global.color);
    output::init_logging(cli.global.verbose, err_style.color);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: failed to start the async runtime: {e}");
            return exit::ERROR;
        }
    };
    let verbose = cli.global.verbose;
    let result = runtime.block_on(commands::run(cli));
    // A prompt abandoned by Ctrl-C still blocks on stdin in its thread: do not wait for it.
    runtime.shutdown_background();
    match result {
        Ok(code) => code,
        Err(e) => {
            print_error(&e, err_style.color, verbose);
            exit::ERROR
        }
    }
}

/// Prints spec diagnostics with source snippets to stderr.
pub(crate) fn print_diagnostics(diags: &Diagnostics, color: bool) {
    let theme = if color {
        miette::GraphicalTheme::unicode()
    } else {
        miette::GraphicalTheme::unicode_nocolor()
    };
    let handler = miette::GraphicalReportHandler::new_themed(theme).with_context_lines(1);
    let mut out = String::new();
    for report in diags.reports() {
        let _ = handler.render_report(&mut out, &report);
        out.push('\n');
    }
    if let Some(more) = diags.more() {
        out.push_str(&more);
        out.push_str("\n\n");
    }
    let _ = std::io::stderr().write_all(out.as_bytes());
}

fn print_error(e: &CliError, color: bool, verbose: u8) {
    // `iamspec plan | head`: the reader left; that is not worth a message.
    if matches!(e, CliError::Io { source, .. } if source.kind() == std::io::ErrorKind::BrokenPipe) {
        return;
    }
    let red = |s: &str| {
        if color {
            format!("\x1b[31;1m{s}\x1b[0m")
        } else {
            s.to_owned()
        }
    };
    match e {
        CliError::Spec(diags) => {
            print_diagnostics(diags, color);
            let (errors, warnings) = diags.counts();
            eprintln!(
                "{} {}: {errors} error(s), {warnings} warning(s); no AWS call was made",
                red("error:"),
                crate::display::escape(&diags.file)
            );
        }
        CliError::Engine(crate::engine::Error::Conflicts(conflicts)) => {
            for c in conflicts {
                eprintln!(
                    "{} {}\n  hint: {}",
                    red("error:"),
                    Escaped(&c.message),
                    Escaped(&c.help)
                );
            }
            eprintln!(
                "{} {}; nothing was changed",
                red("error:"),
                Escaped(&e.to_string())
            );
        }
        _ => {
            // Errors carry names and service messages: escaped, like every output of outside text.
            // Escaped line by line: some errors list items on lines of their own (a saved plan's differing
            // changes), and an escaped line break would run them together. Every other control stays escaped.
            let text = e.to_string();
            let lines: Vec<String> = text.lines().map(|l| escape(l).into_owned()).collect();
            eprintln!("{} {}", red("error:"), lines.join("\n"));
            // The underlying causes (the SDK's errors) are for whoever asked for them with -v.
            if verbose > 0 {
                let mut source = std::error::Error::source(e);
                while let Some(s) = source {
                    eprintln!("  caused by: {}", Escaped(&s.to_string()));
                    source = s.source();
                }
            }
            if let Some(hint) = e.hint() {
                eprintln!("  hint: {}", Escaped(&hint));
            }
        }
    }
}
