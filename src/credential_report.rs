//! IAM's credential report read as key slots, and matched to the keys iamspec recorded: one report for the whole
//! account instead of one ListAccessKeys per user.
//!
//! The report names no key ids: each user's row has two slots (active, created, last used). iamspec records each
//! key's id and creation time in the user's tags (`iamspec:key:<id>=delivered@<created>`), so a row whose slots are
//! exactly the recorded keys, by creation time, gives the keys without a call. Any other row (a key nobody recorded,
//! a recorded key gone, a record without a time, no row at all) says nothing, and the user's keys are listed. The
//! report may be hours old: it decides what a plan shows, never a write (the engine lists a user's keys again
//! before any write to them).

use std::collections::HashMap;

use crate::model::{AccessKey, KeyStatus, KeyUse, User};

/// The columns iamspec reads, by their header names.
const USER: &str = "user";
const SLOT_COLUMNS: [[&str; 3]; 2] = [
    [
        "access_key_1_active",
        "access_key_1_last_rotated",
        "access_key_1_last_used_date",
    ],
    [
        "access_key_2_active",
        "access_key_2_last_rotated",
        "access_key_2_last_used_date",
    ],
];

/// One key slot of a user's row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    /// Whether the key is active.
    pub status: KeyStatus,
    /// When it was made ("last rotated"), seconds since the epoch.
    pub created: i64,
    /// When it was last used; `None` where the report cannot say.
    pub last_used: Option<KeyUse>,
}

/// The report: each user's occupied key slots, by exact user name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CredentialReport {
    /// `None` for a user named in two rows: neither is taken.
    rows: HashMap<String, Option<Vec<Slot>>>,
    /// When IAM generated it (seconds since the epoch), where it said.
    generated: Option<i64>,
}

/// Why a report could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    /// Not UTF-8 text.
    #[error("the credential report is not text")]
    NotText,
    /// A column iamspec needs is not in the header.
    #[error("the credential report has no `{0}` column")]
    MissingColumn(&'static str),
}

impl CredentialReport {
    /// Reads the CSV IAM returns. A row that is not well formed (wrong number of fields, a time that does not
    /// parse) is left out, so its user is listed as if the report had no row: hostile or broken content can only
    /// cost calls, never invent keys.
    ///
    /// # Errors
    /// Content that is not text, or a header without the columns read.
    pub fn parse(content: &[u8]) -> Result<Self, ReportError> {
        let text = std::str::from_utf8(content).map_err(|_| ReportError::NotText)?;
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
        let column = |name: &'static str| {
            header
                .iter()
                .position(|h| h.trim() == name)
                .ok_or(ReportError::MissingColumn(name))
        };
        let user = column(USER)?;
        let mut slots = Vec::with_capacity(2);
        for names in SLOT_COLUMNS {
            slots.push([column(names[0])?, column(names[1])?, column(names[2])?]);
        }
        let mut rows = HashMap::new();
        for line in lines {
            let fields: Vec<&str> = line.split(',').collect();
            if fields.len() != header.len() {
                continue;
            }
            let Some(row) = slots
                .iter()
                .map(|[active, rotated, used]| {
                    slot(fields[*active], fields[*rotated], fields[*used])
                })
                .collect::<Option<Vec<Option<Slot>>>>()
            else {
                continue;
            };
            let occupied: Vec<Slot> = row.into_iter().flatten().collect();
            rows.entry(fields[user].to_owned())
                .and_modify(|seen: &mut Option<Vec<Slot>>| *seen = None)
                .or_insert(Some(occupied));
        }
        Ok(Self {
            rows,
            generated: None,
        })
    }

    /// The report with the time IAM says it was generated.
    #[must_use]
    pub fn generated_at(mut self, at: Option<i64>) -> Self {
        self.generated = at;
        self
    }

    /// When IAM generated it, where it said: keys read from it are as of then.
    #[must_use]
    pub fn generated(&self) -> Option<i64> {
        self.generated
    }

    /// The number of user rows read.
    #[must_use]
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether no row was read.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The user's keys, when the report's row is exactly what iamspec recorded of them; `None` when the user's
    /// keys must be listed.
    #[must_use]
    pub fn keys_of(&self, user: &User) -> Option<Vec<AccessKey>> {
        let row = self.rows.get(&user.name)?.as_ref()?;
        let mut recorded: Vec<(i64, &str)> = user
            .key_records()
            .map(|(id, r)| r.created.map(|c| (c, id)))
            .collect::<Option<_>>()?;
        if recorded.len() != row.len() {
            return None;
        }
        recorded.sort_unstable();
        let mut slots = row.clone();
        slots.sort_by_key(|s| s.created);
        // Keys made within the same second (`count: 2` makes both in one apply) match either slot: fine when
        // the slots say the same, a guess otherwise.
        let tied = recorded.windows(2).zip(slots.windows(2)).any(|(r, s)| {
            (r[1].0 - r[0].0) <= 1 && (s[0].status, s[0].last_used) != (s[1].status, s[1].last_used)
        });
        if tied {
            return None;
        }
        recorded
            .iter()
            .zip(slots)
            .map(|(&(created, id), slot)| {
                // The report and ListAccessKeys both give whole seconds; a second of slack absorbs rounding.
                ((slot.created - created).abs() <= 1).then(|| AccessKey {
                    id: id.to_owned(),
                    status: slot.status,
                    created,
                    last_used: slot.last_used,
                })
            })
            .collect()
    }
}

/// One slot from its three fields: `None` when malformed, `Some(None)` when empty.
fn slot(active: &str, rotated: &str, used: &str) -> Option<Option<Slot>> {
    if rotated == "N/A" {
        return Some(None);
    }
    let status = match active {
        "true" => KeyStatus::Active,
        "false" => KeyStatus::Inactive,
        _ => return None,
    };
    let created = time_of(rotated)?;
    let last_used = match used {
        "N/A" => Some(KeyUse::Never),
        other => time_of(other).map(KeyUse::At),
    };
    Some(Some(Slot {
        status,
        created,
        last_used,
    }))
}

fn time_of(text: &str) -> Option<i64> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(time::OffsetDateTime::unix_timestamp)
        .filter(|t| *t >= 0)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::model::{KeyMark, KeyRecord, KEY_TAG_PREFIX};

    const HEADER: &str = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated";

    fn row(user: &str, k1: (&str, &str, &str), k2: (&str, &str, &str)) -> String {
        format!(
            "{user},arn:aws:iam::123456789012:user/{user},2024-01-01T00:00:00+00:00,false,N/A,N/A,N/A,false,{},{},{},N/A,N/A,{},{},{},N/A,N/A,false,N/A,false,N/A",
            k1.0, k1.1, k1.2, k2.0, k2.1, k2.2
        )
    }

    const NONE: (&str, &str, &str) = ("false", "N/A", "N/A");
    const T1: &str = "2024-03-01T10:00:00+00:00";
    const T1_SECS: i64 = 1_709_287_200;
    const T2: &str = "2024-06-01T10:00:00+00:00";
    const T2_SECS: i64 = 1_717_236_000;

    fn report(rows: &[String]) -> CredentialReport {
        let text = std::iter::once(HEADER.to_owned())
            .chain(rows.iter().cloned())
            .collect::<Vec<_>>()
            .join("\n");
        CredentialReport::parse(text.as_bytes()).unwrap()
    }

    fn user(records: &[(&str, KeyMark, Option<i64>)]) -> User {
        let mut u = User::new("svc", "/");
        for (id, mark, created) in records {
            u.tags.insert(
                format!("{KEY_TAG_PREFIX}{id}"),
                KeyRecord {
                    mark: *mark,
                    created: *created,
                }
                .value(),
            );
        }
        u
    }

    #[test]
    fn a_row_of_exactly_the_recorded_keys_gives_them_with_their_use() {
        let r = report(&[row(
            "svc",
            ("false", T1, "2024-05-01T00:00:00+00:00"),
            ("true", T2, "N/A"),
        )]);
        let u = user(&[
            ("AKIANEW", KeyMark::Delivered, Some(T2_SECS)),
            ("AKIAOLD", KeyMark::Inactive(T2_SECS), Some(T1_SECS)),
        ]);
        let keys = r.keys_of(&u).expect("matched");
        assert_eq!(
            keys,
            [
                AccessKey {
                    id: "AKIAOLD".into(),
                    status: KeyStatus::Inactive,
                    created: T1_SECS,
                    last_used: Some(KeyUse::At(1_714_521_600)),
                },
                AccessKey {
                    id: "AKIANEW".into(),
                    status: KeyStatus::Active,
                    created: T2_SECS,
                    last_used: Some(KeyUse::Never),
                },
            ]
        );
        // The slot order in the report does not matter.
        let swapped = report(&[row(
            "svc",
            ("true", T2, "N/A"),
            ("false", T1, "2024-05-01T00:00:00+00:00"),
        )]);
        assert_eq!(swapped.keys_of(&u), Some(keys));
    }

    #[test]
    fn no_keys_recorded_and_none_in_the_row_is_an_answer() {
        let r = report(&[row("svc", NONE, NONE)]);
        assert_eq!(r.keys_of(&user(&[])), Some(Vec::new()));
    }

    #[test]
    fn anything_else_asks_for_a_listing() {
        let recorded = user(&[("AKIA1", KeyMark::Delivered, Some(T1_SECS))]);
        // No row (a report older than the user).
        assert_eq!(report(&[]).keys_of(&recorded), None);
        // A key nobody recorded (made by hand, or by iamspec after the report).
        let two = report(&[row("svc", ("true", T1, "N/A"), ("true", T2, "N/A"))]);
        assert_eq!(two.keys_of(&recorded), None);
        // A recorded key gone.
        assert_eq!(report(&[row("svc", NONE, NONE)]).keys_of(&recorded), None);
        // A different creation time: another key in the slot.
        let other = report(&[row("svc", ("true", T2, "N/A"), NONE)]);
        assert_eq!(other.keys_of(&recorded), None);
        // A record from before creation times were kept.
        let legacy = user(&[("AKIA1", KeyMark::Delivered, None)]);
        let one = report(&[row("svc", ("true", T1, "N/A"), NONE)]);
        assert_eq!(one.keys_of(&legacy), None);
        assert!(one.keys_of(&recorded).is_some());
        // A user named twice.
        let twice = report(&[
            row("svc", ("true", T1, "N/A"), NONE),
            row("svc", ("true", T1, "N/A"), NONE),
        ]);
        assert_eq!(twice.keys_of(&recorded), None);
    }

    #[test]
    fn keys_made_in_the_same_second_match_only_when_their_slots_agree() {
        let u = user(&[
            ("AKIAA", KeyMark::Delivered, Some(T1_SECS)),
            ("AKIAB", KeyMark::Delivered, Some(T1_SECS)),
        ]);
        let same = report(&[row("svc", ("true", T1, "N/A"), ("true", T1, "N/A"))]);
        assert_eq!(same.keys_of(&u).map(|k| k.len()), Some(2));
        // One of them inactive: which one cannot be told from the report.
        let differ = report(&[row("svc", ("false", T1, "N/A"), ("true", T1, "N/A"))]);
        assert_eq!(differ.keys_of(&u), None);
    }

    #[test]
    fn a_malformed_row_is_no_row() {
        let bad = [
            row("svc", ("maybe", T1, "N/A"), NONE),
            row("svc", ("true", "yesterday", "N/A"), NONE),
            row("svc", ("true", "-2024-01-01T00:00:00+00:00", "N/A"), NONE),
            format!("{},extra", row("svc", ("true", T1, "N/A"), NONE)),
            "svc".to_owned(),
        ];
        let recorded = user(&[("AKIA1", KeyMark::Delivered, Some(T1_SECS))]);
        for line in bad {
            assert_eq!(
                report(std::slice::from_ref(&line)).keys_of(&recorded),
                None,
                "{line}"
            );
        }
        // A last use that does not parse is unknown, not "never".
        let odd = report(&[row("svc", ("true", T1, "no_information"), NONE)]);
        assert_eq!(odd.keys_of(&recorded).unwrap()[0].last_used, None);
    }

    #[test]
    fn a_header_without_the_columns_is_an_error() {
        assert_eq!(
            CredentialReport::parse(b"user,arn\nsvc,x"),
            Err(ReportError::MissingColumn("access_key_1_active"))
        );
        assert_eq!(
            CredentialReport::parse(&[0xff, 0xfe]),
            Err(ReportError::NotText)
        );
        assert_eq!(
            CredentialReport::parse(b""),
            Err(ReportError::MissingColumn("user"))
        );
    }

    proptest! {
        /// Any bytes: an error or a report, never a panic; and a report only ever gives back recorded key ids.
        #[test]
        fn any_content_is_safe(content in proptest::collection::vec(any::<u8>(), 0..400), tail in ".{0,300}") {
            let _ = CredentialReport::parse(&content);
            let text = format!("{HEADER}\n{tail}");
            if let Ok(r) = CredentialReport::parse(text.as_bytes()) {
                let u = user(&[("AKIA1", KeyMark::Delivered, Some(T1_SECS))]);
                if let Some(keys) = r.keys_of(&u) {
                    prop_assert!(keys.iter().all(|k| k.id == "AKIA1"));
                }
            }
        }
    }
}
