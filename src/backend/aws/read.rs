//! Reads beyond the account read: access keys (with their last use), the credential report, and the dependents a
//! user must lose before DeleteUser.

use std::time::Duration;

use aws_sdk_iam::types::{ReportStateType, StatusType};

use super::errors::MapErrInto;
use super::{seconds, AwsBackend, Class};
use crate::backend::bounded::Pages;
use crate::backend::{BackendError, ErrorKind};
use crate::credential_report::CredentialReport;
use crate::model::{AccessKey, Dependents, KeyStatus};

/// How long iamspec waits for IAM to generate a credential report before it lists keys instead. IAM generates one
/// in seconds; an account that has one younger than four hours answers at once.
const REPORT_WAIT: Duration = Duration::from_secs(60);
/// The first wait between polls; it doubles up to [`REPORT_POLL_MAX`].
const REPORT_POLL: Duration = Duration::from_millis(250);
const REPORT_POLL_MAX: Duration = Duration::from_secs(4);

impl AwsBackend {
    /// The credential report: GenerateCredentialReport until IAM says it is complete (paced, each call within the
    /// retry budget, the wait bounded), then GetCredentialReport. `None`, with a warning, when the report cannot be
    /// had (not allowed, not served, not ready in time, not readable): the caller lists keys as before.
    pub(super) async fn read_credential_report(
        &self,
    ) -> Result<Option<CredentialReport>, BackendError> {
        let give_up = |e: &BackendError| {
            matches!(
                e.kind,
                ErrorKind::AccessDenied
                    | ErrorKind::Unsupported
                    | ErrorKind::NoSuchEntity
                    | ErrorKind::Invalid
                    | ErrorKind::Other
            )
        };
        let mut poll = REPORT_POLL;
        let mut waited = Duration::ZERO;
        loop {
            let generated = self
                .retrying(Class::Read, "GenerateCredentialReport", "account", || {
                    self.iam
                        .generate_credential_report()
                        .send()
                        .map_err_into("GenerateCredentialReport", "account")
                })
                .await;
            match generated {
                Ok(out) if out.state() == Some(&ReportStateType::Complete) => break,
                Ok(_) if waited >= REPORT_WAIT => {
                    tracing::warn!(
                        waited_s = waited.as_secs(),
                        "the credential report is not ready; listing access keys user by user"
                    );
                    return Ok(None);
                }
                Ok(_) => {}
                Err(e) if give_up(&e) => {
                    tracing::warn!(error = %crate::display::Escaped(&e.to_string()), "no credential report; listing access keys user by user");
                    return Ok(None);
                }
                Err(e) => return Err(e),
            }
            self.effects.sleep(poll).await;
            waited += poll;
            poll = (poll * 2).min(REPORT_POLL_MAX);
        }
        let got = self
            .retrying(Class::Read, "GetCredentialReport", "account", || {
                self.iam
                    .get_credential_report()
                    .send()
                    .map_err_into("GetCredentialReport", "account")
            })
            .await;
        let out = match got {
            Ok(out) => out,
            Err(e) if give_up(&e) => {
                tracing::warn!(error = %crate::display::Escaped(&e.to_string()), "no credential report; listing access keys user by user");
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        let content = out.content().map(|b| b.as_ref()).unwrap_or_default();
        let generated = out.generated_time().map(aws_smithy_types::DateTime::secs);
        match CredentialReport::parse(content).map(|r| r.generated_at(generated)) {
            Ok(report) => {
                tracing::debug!(rows = report.len(), "read the credential report");
                Ok(Some(report))
            }
            Err(e) => {
                tracing::warn!(error = %e, "the credential report is unreadable; listing access keys user by user");
                Ok(None)
            }
        }
    }

    pub(super) async fn list_keys(&self, user: &str) -> Result<Vec<AccessKey>, BackendError> {
        let mut keys = Vec::new();
        let mut marker: Option<String> = None;
        let mut pages = Pages::new("ListAccessKeys");
        loop {
            let m = marker.clone();
            let page = self
                .retrying(Class::Read, "ListAccessKeys", user, || {
                    self.iam
                        .list_access_keys()
                        .user_name(user)
                        .set_marker(m.clone())
                        .send()
                        .map_err_into("ListAccessKeys", user)
                })
                .await?;
            for k in page.access_key_metadata() {
                keys.push(AccessKey {
                    id: k.access_key_id().unwrap_or_default().to_owned(),
                    status: if k.status() == Some(&StatusType::Inactive) {
                        KeyStatus::Inactive
                    } else {
                        KeyStatus::Active
                    },
                    created: seconds(k.create_date()),
                    last_used: None,
                });
            }
            match pages.next(
                page.is_truncated(),
                page.marker(),
                page.access_key_metadata().len(),
            )? {
                Some(next) => marker = Some(next),
                None => return Ok(keys),
            }
        }
    }

    /// When a key was last used; `None` where the endpoint cannot say (then nothing is decided on it).
    pub(super) async fn key_last_used(
        &self,
        id: &str,
    ) -> Result<Option<crate::model::KeyUse>, BackendError> {
        let got = self
            .retrying(Class::Read, "GetAccessKeyLastUsed", id, || {
                self.iam
                    .get_access_key_last_used()
                    .access_key_id(id)
                    .send()
                    .map_err_into("GetAccessKeyLastUsed", id)
            })
            .await;
        match got {
            Ok(out) => Ok(Some(
                match out.access_key_last_used().and_then(|u| u.last_used_date()) {
                    Some(at) => crate::model::KeyUse::At(at.secs()),
                    None => crate::model::KeyUse::Never,
                },
            )),
            Err(e) if matches!(e.kind, ErrorKind::Unsupported | ErrorKind::NoSuchEntity) => {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    pub(super) async fn dependents(&self, user: &str) -> Result<Dependents, BackendError> {
        let login_profile = match self
            .retrying(Class::Read, "GetLoginProfile", user, || {
                self.iam
                    .get_login_profile()
                    .user_name(user)
                    .send()
                    .map_err_into("GetLoginProfile", user)
            })
            .await
        {
            Ok(_) => true,
            Err(e) if e.kind == ErrorKind::NoSuchEntity => false,
            Err(e) => return Err(e),
        };
        let mfa = self
            .retrying(Class::Read, "ListMFADevices", user, || {
                self.iam
                    .list_mfa_devices()
                    .user_name(user)
                    .send()
                    .map_err_into("ListMFADevices", user)
            })
            .await?;
        let certs = self
            .retrying(Class::Read, "ListSigningCertificates", user, || {
                self.iam
                    .list_signing_certificates()
                    .user_name(user)
                    .send()
                    .map_err_into("ListSigningCertificates", user)
            })
            .await?;
        let ssh = self
            .retrying(Class::Read, "ListSSHPublicKeys", user, || {
                self.iam
                    .list_ssh_public_keys()
                    .user_name(user)
                    .send()
                    .map_err_into("ListSSHPublicKeys", user)
            })
            .await?;
        let service = self
            .retrying(Class::Read, "ListServiceSpecificCredentials", user, || {
                self.iam
                    .list_service_specific_credentials()
                    .user_name(user)
                    .send()
                    .map_err_into("ListServiceSpecificCredentials", user)
            })
            .await;
        let service_credentials = match service {
            Ok(out) => out
                .service_specific_credentials()
                .iter()
                .map(|c| c.service_specific_credential_id().to_owned())
                .collect(),
            // Emulators (moto) lack this call; real IAM has it. An endpoint without it has no such credentials.
            Err(e) if e.kind == ErrorKind::Unsupported => {
                tracing::debug!(error = %crate::display::Escaped(&e.to_string()), "ListServiceSpecificCredentials unavailable; assuming none");
                Vec::new()
            }
            Err(e) => return Err(e),
        };
        Ok(Dependents {
            login_profile,
            mfa_devices: mfa
                .mfa_devices()
                .iter()
                .map(|d| d.serial_number().to_owned())
                .collect(),
            signing_certificates: certs
                .certificates()
                .iter()
                .map(|c| c.certificate_id().to_owned())
                .collect(),
            ssh_public_keys: ssh
                .ssh_public_keys()
                .iter()
                .map(|k| k.ssh_public_key_id().to_owned())
                .collect(),
            service_credentials,
        })
    }
}
