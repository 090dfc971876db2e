//! Lookups in the action catalogue (generated from the AWS Service Authorization Reference, see
//! `tools/catalogue.py`): an action by name, the actions a wildcard covers, the closest name to a typo, and where
//! an S3 action can be granted (on a bucket, on objects, or only on `*`).

#[rustfmt::skip]
mod data;

/// How AWS classifies an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ActionLevel {
    /// Lists resources.
    List,
    /// Reads data or metadata.
    Read,
    /// Creates, changes or deletes.
    Write,
    /// Changes who can do what (policies, ACLs, public access blocks).
    PermissionsManagement,
    /// Changes tags.
    Tagging,
}

impl ActionLevel {
    /// AWS's name for the level.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::List => "List",
            Self::Read => "Read",
            Self::Write => "Write",
            Self::PermissionsManagement => "Permissions management",
            Self::Tagging => "Tagging",
        }
    }
}

/// One action of the catalogue.
#[derive(Debug, PartialEq, Eq)]
pub struct ActionDef {
    /// The service prefix (`s3`).
    pub service: &'static str,
    /// The action name in AWS's spelling (`GetObject`).
    pub name: &'static str,
    /// Its access level.
    pub level: ActionLevel,
    /// The resource types it can be granted on; empty when it takes only `*`.
    pub resources: &'static [&'static str],
    /// The condition keys it supports (action-wide and per resource type).
    pub conditions: &'static [&'static str],
}

impl ActionDef {
    /// `service:Name`.
    #[must_use]
    pub fn full_name(&self) -> String {
        format!("{}:{}", self.service, self.name)
    }

    /// Whether it acts on an S3 bucket (its ARN `arn:aws:s3:::bucket`).
    #[must_use]
    pub fn on_bucket(&self) -> bool {
        self.service == "s3" && self.resources.contains(&"bucket")
    }

    /// Whether it acts on S3 objects (`arn:aws:s3:::bucket/key`).
    #[must_use]
    pub fn on_object(&self) -> bool {
        self.service == "s3" && self.resources.contains(&"object")
    }

    /// Whether it takes no resource but `*` (e.g. `s3:ListAllMyBuckets`).
    #[must_use]
    pub fn only_star(&self) -> bool {
        self.resources.is_empty()
    }

    /// Whether it supports the condition key `key` (compared ignoring ASCII case, as IAM does).
    #[must_use]
    pub fn takes(&self, key: &str) -> bool {
        self.conditions.iter().any(|k| k.eq_ignore_ascii_case(key))
    }
}

/// Every action of every service in the catalogue.
#[must_use]
pub fn all() -> &'static [ActionDef] {
    data::ACTIONS
}

/// The actions of one service.
pub fn of_service(service: &str) -> impl Iterator<Item = &'static ActionDef> + '_ {
    all()
        .iter()
        .filter(move |a| a.service.eq_ignore_ascii_case(service))
}

/// The action named `action` (`s3:getobject` finds `s3:GetObject`: action names are case-insensitive).
#[must_use]
pub fn lookup(action: &str) -> Option<&'static ActionDef> {
    let (service, name) = action.split_once(':')?;
    let service = service.to_ascii_lowercase();
    let name = name.to_ascii_lowercase();
    let table = all();
    let at = table
        .binary_search_by(|a| {
            (a.service, a.name.to_ascii_lowercase()).cmp(&(service.as_str(), name.clone()))
        })
        .ok()?;
    Some(&table[at])
}

/// The actions a pattern with `*` and `?` covers, within its service (case-insensitive); a plain name gives at
/// most itself.
#[must_use]
pub fn expand(pattern: &str) -> Vec<&'static ActionDef> {
    let Some((service, name)) = pattern.split_once(':') else {
        return Vec::new();
    };
    if !name.contains(['*', '?']) {
        return lookup(pattern).into_iter().collect();
    }
    of_service(service)
        .filter(|a| crate::pattern::wildcard_ignore_case(name, a.name))
        .collect()
}

/// The action name closest to `action` in its service, for "did you mean": within a small edit distance, or
/// sharing a long stem (`s3:ListBuckets` -> `s3:ListBucket`).
#[must_use]
pub fn suggest(action: &str) -> Option<String> {
    let (service, name) = action.split_once(':')?;
    let name = name.to_ascii_lowercase();
    let limit = (name.len() / 4).max(2);
    of_service(service)
        .map(|a| {
            (
                crate::suggest::edit_distance(&name, &a.name.to_ascii_lowercase()),
                a,
            )
        })
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, a)| (*d, a.name))
        .map(|(_, a)| a.full_name())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_are_case_insensitive_and_canonical() {
        let a = lookup("S3:getobject").unwrap();
        assert_eq!(a.full_name(), "s3:GetObject");
        assert!(a.on_object() && !a.on_bucket());
        let list = lookup("s3:ListBucket").unwrap();
        assert!(list.on_bucket() && list.takes("s3:prefix") && list.takes("S3:Prefix"));
        assert!(!lookup("s3:ListBucketMultipartUploads")
            .unwrap()
            .takes("s3:prefix"));
        assert!(lookup("s3:ListAllMyBuckets").unwrap().only_star());
        assert_eq!(lookup("kms:Decrypt").unwrap().level, ActionLevel::Write);
        assert!(lookup("s3:GetObjekt").is_none());
        assert!(lookup("GetObject").is_none());
    }

    #[test]
    fn wildcards_expand_within_their_service() {
        let put: Vec<String> = expand("s3:Put*").iter().map(|a| a.full_name()).collect();
        assert!(
            put.contains(&"s3:PutBucketPolicy".to_owned())
                && put.contains(&"s3:PutObject".to_owned())
        );
        assert!(put.iter().all(|a| a.starts_with("s3:Put")));
        assert_eq!(expand("s3:*").len(), of_service("s3").count());
        assert!(expand("s3:Frobnicate*").is_empty());
        assert_eq!(expand("s3:GetObject").len(), 1);
    }

    #[test]
    fn typos_get_the_closest_name() {
        assert_eq!(suggest("s3:GetObjekt").as_deref(), Some("s3:GetObject"));
        assert_eq!(suggest("s3:ListBuckets").as_deref(), Some("s3:ListBucket"));
        assert_eq!(suggest("s3:Zzzzzzzzzzzzzzzzzzz"), None);
    }

    /// The checked-in table is exactly what the generator makes of the pinned data: nobody edits it by hand.
    #[test]
    fn the_table_is_what_the_generator_makes() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let out = std::process::Command::new("python3")
            .arg(root.join("tools/catalogue.py"))
            .arg("generate")
            .arg(root.join("data/authz-actions.json"))
            .output()
            .expect("python3 runs tools/catalogue.py");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let table = std::fs::read_to_string(root.join("src/catalogue/data.rs")).unwrap();
        assert!(
            String::from_utf8_lossy(&out.stdout) == table,
            "src/catalogue/data.rs is stale: python3 tools/catalogue.py generate data/authz-actions.json > src/catalogue/data.rs"
        );
        let sorted = all().windows(2).all(|w| {
            (w[0].service, w[0].name.to_ascii_lowercase())
                < (w[1].service, w[1].name.to_ascii_lowercase())
        });
        assert!(sorted, "lookups binary-search the table");
    }
}
