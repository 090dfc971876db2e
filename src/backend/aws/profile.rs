//! Named profiles: which exist in the shared config and credentials files, so a misspelt `--profile` is an error
//! naming the ones there are, before any call.

use crate::backend::{BackendError, ErrorKind};

/// Profiles named in the shared config and credentials files (`AWS_CONFIG_FILE`, `AWS_SHARED_CREDENTIALS_FILE`,
/// else `~/.aws/config` and `~/.aws/credentials`), in file order, without repeats.
pub(super) fn known_profiles() -> Vec<String> {
    let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
    let file = |var: &str, default: &str| {
        std::env::var_os(var)
            .map(std::path::PathBuf::from)
            .or_else(|| home.as_ref().map(|h| h.join(".aws").join(default)))
    };
    let mut names = Vec::new();
    for (path, config) in [
        (file("AWS_CONFIG_FILE", "config"), true),
        (file("AWS_SHARED_CREDENTIALS_FILE", "credentials"), false),
    ] {
        let Some(text) = path.and_then(|p| crate::fileio::read_bounded(&p, 1 << 20).ok()) else {
            continue;
        };
        for line in text.lines() {
            let Some(section) = line
                .trim()
                .strip_prefix('[')
                .and_then(|l| l.strip_suffix(']'))
            else {
                continue;
            };
            let section = section.trim();
            let name = if config {
                match section.strip_prefix("profile") {
                    Some(rest) if rest.starts_with(char::is_whitespace) => rest.trim(),
                    _ if section == "default" => section,
                    _ => continue,
                }
            } else {
                section
            };
            if !names.iter().any(|n| n == name) {
                names.push(name.to_owned());
            }
        }
    }
    names
}

/// Checks that `--profile` / `AWS_PROFILE` names a profile of the shared files, before the SDK's chain turns a typo
/// into "no usable credentials".
///
/// # Errors
/// [`ErrorKind::Config`] naming the profiles there are.
pub fn check_profile(profile: &str) -> Result<(), BackendError> {
    let known = known_profiles();
    if known.iter().any(|k| k == profile) {
        return Ok(());
    }
    let mut e = BackendError::new(
        ErrorKind::Config,
        "load profile",
        format!(
            "profile `{}` is not in the AWS config or credentials files",
            crate::display::Escaped(profile)
        ),
    );
    e.hint = Some(if known.is_empty() {
        "no profiles are configured here; `aws configure --profile NAME` makes one, or leave --profile out to use the environment's credentials".into()
    } else {
        let closest = crate::suggest::closest(profile, known.iter().map(String::as_str));
        format!(
            "{}profiles there: {}",
            closest
                .map(|c| format!("did you mean `{c}`? "))
                .unwrap_or_default(),
            known.join(", ")
        )
    });
    Err(e)
}
