//! The evaluator against AWS's documented policy logic, two ways: a conformance table with one case per documented
//! rule (each case names the rule it checks), and a differential test against a second evaluator in this file,
//! written naively from the documentation (JSON values, recursive matching, no shared code), on generated
//! policies and requests.

use iamspec::authz::{evaluate, Context, Decision, Policies, Request};
use iamspec::policy::PolicyDocument;
use proptest::prelude::*;
use serde_json::{json, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Want {
    Allow,
    ImplicitDeny,
    ExplicitDeny,
    BoundaryDeny,
    Undecided,
}

fn outcome(d: &Decision) -> Want {
    match d {
        Decision::Allowed(_) => Want::Allow,
        Decision::ImplicitlyDenied => Want::ImplicitDeny,
        Decision::ExplicitlyDenied(_) => Want::ExplicitDeny,
        Decision::DeniedByBoundary(_) => Want::BoundaryDeny,
        Decision::Undecided(_) => Want::Undecided,
    }
}

struct Case {
    rule: &'static str,
    policies: &'static [&'static str],
    boundary: Option<&'static str>,
    action: &'static str,
    resource: &'static str,
    /// Keys with values; a key with no values is known to be absent.
    context: &'static [(&'static str, &'static [&'static str])],
    want: Want,
}

const fn case(
    rule: &'static str,
    policies: &'static [&'static str],
    action: &'static str,
    resource: &'static str,
    context: &'static [(&'static str, &'static [&'static str])],
    want: Want,
) -> Case {
    Case {
        rule,
        policies,
        boundary: None,
        action,
        resource,
        context,
        want,
    }
}

macro_rules! doc {
    ($($st:tt)*) => { concat!(r#"{"Version":"2012-10-17","Statement":["#, $($st)*, "]}") };
}

const GET_B: &str =
    doc!(r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}"#);
const DENY_B: &str = doc!(r#"{"Effect":"Deny","Action":"s3:*","Resource":"arn:aws:s3:::b/*"}"#);

const LIST: &str = "s3:ListBucket";
const BKT: &str = "arn:aws:s3:::b";
const OBJ: &str = "arn:aws:s3:::b/k";

fn cases() -> Vec<Case> {
    use Want::*;
    vec![
        case(
            "evaluation: no statement allows -> implicit deny",
            &[],
            "s3:GetObject",
            OBJ,
            &[],
            ImplicitDeny,
        ),
        case(
            "evaluation: an Allow whose action and resource match allows",
            &[GET_B],
            "s3:GetObject",
            OBJ,
            &[],
            Allow,
        ),
        case(
            "evaluation: an explicit Deny wins over any Allow",
            &[GET_B, DENY_B],
            "s3:GetObject",
            OBJ,
            &[],
            ExplicitDeny,
        ),
        case(
            "evaluation: a Deny that does not match changes nothing",
            &[GET_B, DENY_B],
            "s3:GetObject",
            "arn:aws:s3:::c/k",
            &[],
            ImplicitDeny,
        ),
        case(
            "evaluation: allows from several policies are a union",
            &[
                GET_B,
                doc!(r#"{"Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::b/*"}"#),
            ],
            "s3:PutObject",
            OBJ,
            &[],
            Allow,
        ),
        case(
            "Action: names ignore case",
            &[doc!(
                r#"{"Effect":"Allow","Action":"S3:getobject","Resource":"*"}"#
            )],
            "s3:GetObject",
            OBJ,
            &[],
            Allow,
        ),
        case(
            "Action: * and ? wildcards",
            &[doc!(
                r#"{"Effect":"Allow","Action":"s3:Get?bject*","Resource":"*"}"#
            )],
            "s3:GetObjectAcl",
            OBJ,
            &[],
            Allow,
        ),
        case(
            "NotAction: allows every action but those listed",
            &[doc!(
                r#"{"Effect":"Allow","NotAction":"s3:Delete*","Resource":"*"}"#
            )],
            "s3:DeleteObject",
            OBJ,
            &[],
            ImplicitDeny,
        ),
        case(
            "NotAction: an action not listed is allowed",
            &[doc!(
                r#"{"Effect":"Allow","NotAction":"s3:Delete*","Resource":"*"}"#
            )],
            "s3:PutObject",
            OBJ,
            &[],
            Allow,
        ),
        case(
            "Resource: is case-sensitive",
            &[doc!(
                r#"{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::B/*"}"#
            )],
            "s3:GetObject",
            OBJ,
            &[],
            ImplicitDeny,
        ),
        case(
            "Resource: * spans slashes",
            &[doc!(
                r#"{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::*/k"}"#
            )],
            "s3:GetObject",
            "arn:aws:s3:::b/x/k",
            &[],
            Allow,
        ),
        case(
            "Resource: a statement without Resource applies to nothing",
            &[doc!(r#"{"Effect":"Allow","Action":"s3:*"}"#)],
            "s3:GetObject",
            OBJ,
            &[],
            ImplicitDeny,
        ),
        case(
            "NotResource: matches every resource but those listed",
            &[
                doc!(r#"{"Effect":"Deny","Action":"s3:*","NotResource":"arn:aws:s3:::b/*"}"#),
                GET_B,
            ],
            "s3:GetObject",
            OBJ,
            &[],
            Allow,
        ),
        case(
            "NotResource: a Deny with NotResource denies the others",
            &[
                doc!(r#"{"Effect":"Deny","Action":"s3:*","NotResource":"arn:aws:s3:::b/*"}"#),
                doc!(r#"{"Effect":"Allow","Action":"s3:*","Resource":"*"}"#),
            ],
            "s3:GetObject",
            "arn:aws:s3:::c/k",
            &[],
            ExplicitDeny,
        ),
        case(
            "variables: ${aws:username} is substituted in 2012-10-17",
            &[doc!(
                r#"{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/${aws:username}/*"}"#
            )],
            "s3:GetObject",
            "arn:aws:s3:::b/alice/k",
            &[("aws:username", &["alice"])],
            Allow,
        ),
        case(
            "variables: another user's folder is not theirs",
            &[doc!(
                r#"{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/${aws:username}/*"}"#
            )],
            "s3:GetObject",
            "arn:aws:s3:::b/bob/k",
            &[("aws:username", &["alice"])],
            ImplicitDeny,
        ),
        case(
            "variables: a substituted value is literal, never a wildcard",
            &[doc!(
                r#"{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/${aws:username}/k"}"#
            )],
            "s3:GetObject",
            "arn:aws:s3:::b/bob/k",
            &[("aws:username", &["*"])],
            ImplicitDeny,
        ),
        case(
            "variables: ${*} is a literal * in an Allow",
            &[doc!(
                r#"{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/${*}"}"#
            )],
            "s3:GetObject",
            OBJ,
            &[],
            ImplicitDeny,
        ),
        case(
            "variables: ${*} matches the key named *",
            &[doc!(
                r#"{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/${*}"}"#
            )],
            "s3:GetObject",
            "arn:aws:s3:::b/*",
            &[],
            Allow,
        ),
        case(
            "variables: ${*} is a literal * in a Deny",
            &[
                doc!(r#"{"Effect":"Deny","Action":"s3:*","Resource":"arn:aws:s3:::b/${*}"}"#),
                GET_B,
            ],
            "s3:GetObject",
            OBJ,
            &[],
            Allow,
        ),
        case(
            "variables: ${?} is a literal ?",
            &[doc!(
                r#"{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/${?}"}"#
            )],
            "s3:GetObject",
            OBJ,
            &[],
            ImplicitDeny,
        ),
        case(
            "variables: ${$} is a literal $",
            &[doc!(
                r#"{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/${$}k"}"#
            )],
            "s3:GetObject",
            "arn:aws:s3:::b/$k",
            &[],
            Allow,
        ),
        case(
            "variables: a variable without a value is undecided",
            &[doc!(
                r#"{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/${aws:username}/*"}"#
            )],
            "s3:GetObject",
            "arn:aws:s3:::b/alice/k",
            &[],
            Undecided,
        ),
        case(
            "Version: in 2008-10-17 a variable is literal text",
            &[
                r#"{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/${aws:username}/*"}]}"#,
            ],
            "s3:GetObject",
            "arn:aws:s3:::b/alice/k",
            &[("aws:username", &["alice"])],
            ImplicitDeny,
        ),
        case(
            "Version: without a Version a variable is literal text",
            &[
                r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/${aws:username}/*"}]}"#,
            ],
            "s3:GetObject",
            "arn:aws:s3:::b/${aws:username}/k",
            &[("aws:username", &["alice"])],
            Allow,
        ),
        case(
            "Version: in 2008-10-17 a condition value is literal text",
            &[
                r#"{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::b","Condition":{"StringEquals":{"s3:prefix":"${aws:username}"}}}]}"#,
            ],
            LIST,
            BKT,
            &[("aws:username", &["alice"]), ("s3:prefix", &["alice"])],
            ImplicitDeny,
        ),
        case(
            "conditions: all operators of a statement must hold (AND)",
            &[doc!(
                r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*","Condition":{"StringLike":{"s3:prefix":"a/*"},"Bool":{"aws:SecureTransport":"true"}}}"#
            )],
            LIST,
            BKT,
            &[("s3:prefix", &["a/x"]), ("aws:SecureTransport", &["false"])],
            ImplicitDeny,
        ),
        case(
            "conditions: the values of one key are ORed",
            &[doc!(
                r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*","Condition":{"StringEquals":{"s3:prefix":["a","b"]}}}"#
            )],
            LIST,
            BKT,
            &[("s3:prefix", &["b"])],
            Allow,
        ),
        case(
            "conditions: keys ignore case",
            &[doc!(
                r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*","Condition":{"StringEquals":{"S3:Prefix":"a"}}}"#
            )],
            LIST,
            BKT,
            &[("s3:prefix", &["a"])],
            Allow,
        ),
        case(
            "conditions: an unknown key is undecided, never guessed",
            &[doc!(
                r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*","Condition":{"StringEquals":{"aws:SourceIp":"1.2.3.4"}}}"#
            )],
            LIST,
            BKT,
            &[],
            Undecided,
        ),
        case(
            "conditions: an unimplemented operator is undecided",
            &[doc!(
                r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}"#
            )],
            LIST,
            BKT,
            &[("aws:SourceIp", &["10.0.0.1"])],
            Undecided,
        ),
        case(
            "StringEquals: case-sensitive",
            &[doc!(
                r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*","Condition":{"StringEquals":{"s3:prefix":"A"}}}"#
            )],
            LIST,
            BKT,
            &[("s3:prefix", &["a"])],
            ImplicitDeny,
        ),
        case(
            "StringEquals: * is a plain character",
            &[doc!(
                r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*","Condition":{"StringEquals":{"s3:prefix":"*"}}}"#
            )],
            LIST,
            BKT,
            &[("s3:prefix", &["a"])],
            ImplicitDeny,
        ),
        case(
            "StringEquals: a missing key does not hold",
            &[doc!(
                r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*","Condition":{"StringEquals":{"s3:prefix":"a"}}}"#
            )],
            LIST,
            BKT,
            &[],
            ImplicitDeny,
        ),
        case(
            "StringEqualsIfExists: a missing key holds",
            &[doc!(
                r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*","Condition":{"StringEqualsIfExists":{"s3:prefix":"a"}}}"#
            )],
            LIST,
            BKT,
            &[],
            Allow,
        ),
        case(
            "StringEqualsIfExists: a present key is compared",
            &[doc!(
                r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*","Condition":{"StringEqualsIfExists":{"s3:prefix":"a"}}}"#
            )],
            LIST,
            BKT,
            &[("s3:prefix", &["b"])],
            ImplicitDeny,
        ),
        case(
            "StringNotEquals: holds when no value matches",
            &[doc!(
                r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*","Condition":{"StringNotEquals":{"s3:prefix":["a","b"]}}}"#
            )],
            LIST,
            BKT,
            &[("s3:prefix", &["c"])],
            Allow,
        ),
        case(
            "StringNotEquals: a missing key holds",
            &[doc!(
                r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*","Condition":{"StringNotEquals":{"s3:prefix":"a"}}}"#
            )],
            LIST,
            BKT,
            &[],
            Allow,
        ),
        case(
            "StringEqualsIgnoreCase: ignores case",
            &[doc!(
                r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*","Condition":{"StringEqualsIgnoreCase":{"s3:prefix":"A"}}}"#
            )],
            LIST,
            BKT,
            &[("s3:prefix", &["a"])],
            Allow,
        ),
        case(
            "StringNotEqualsIgnoreCase: ignores case",
            &[doc!(
                r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*","Condition":{"StringNotEqualsIgnoreCase":{"s3:prefix":"A"}}}"#
            )],
            LIST,
            BKT,
            &[("s3:prefix", &["a"])],
            ImplicitDeny,
        ),
        case(
            "StringLike: * and ? wildcards",
            &[doc!(
                r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*","Condition":{"StringLike":{"s3:prefix":"a?/*"}}}"#
            )],
            LIST,
            BKT,
            &[("s3:prefix", &["ab/c/d"])],
            Allow,
        ),
        case(
            "StringLike: ${*} in a value is a literal *",
            &[doc!(
                r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*","Condition":{"StringLike":{"s3:prefix":"a/${*}"}}}"#
            )],
            LIST,
            BKT,
            &[("s3:prefix", &["a/b"])],
            ImplicitDeny,
        ),
        case(
            "StringLikeIfExists: a missing key holds",
            &[doc!(
                r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*","Condition":{"StringLikeIfExists":{"s3:prefix":"a/*"}}}"#
            )],
            LIST,
            BKT,
            &[],
            Allow,
        ),
        case(
            "StringNotLike: holds when no pattern matches",
            &[
                doc!(
                    r#"{"Effect":"Deny","Action":"s3:ListBucket","Resource":"*","Condition":{"StringNotLike":{"s3:prefix":"a/*"}}}"#
                ),
                doc!(r#"{"Effect":"Allow","Action":"s3:*","Resource":"*"}"#),
            ],
            LIST,
            BKT,
            &[("s3:prefix", &["b/"])],
            ExplicitDeny,
        ),
        case(
            "StringNotLikeIfExists: a missing key holds",
            &[doc!(
                r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*","Condition":{"StringNotLikeIfExists":{"s3:prefix":"a/*"}}}"#
            )],
            LIST,
            BKT,
            &[],
            Allow,
        ),
        case(
            "Bool: compares true/false",
            &[
                doc!(
                    r#"{"Effect":"Deny","Action":"s3:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}"#
                ),
                GET_B,
            ],
            "s3:GetObject",
            OBJ,
            &[("aws:SecureTransport", &["false"])],
            ExplicitDeny,
        ),
        case(
            "Bool: a missing key does not hold",
            &[
                doc!(
                    r#"{"Effect":"Deny","Action":"s3:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}"#
                ),
                GET_B,
            ],
            "s3:GetObject",
            OBJ,
            &[("aws:SecureTransport", &[])],
            Allow,
        ),
        case(
            "BoolIfExists: a missing key holds",
            &[
                doc!(
                    r#"{"Effect":"Deny","Action":"s3:*","Resource":"*","Condition":{"BoolIfExists":{"aws:SecureTransport":"false"}}}"#
                ),
                GET_B,
            ],
            "s3:GetObject",
            OBJ,
            &[("aws:SecureTransport", &[])],
            ExplicitDeny,
        ),
        case(
            "Null true: holds when the key is absent",
            &[doc!(
                r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*","Condition":{"Null":{"s3:prefix":"true"}}}"#
            )],
            LIST,
            BKT,
            &[],
            Allow,
        ),
        case(
            "Null false: holds when the key is present",
            &[doc!(
                r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*","Condition":{"Null":{"s3:prefix":"false"}}}"#
            )],
            LIST,
            BKT,
            &[],
            ImplicitDeny,
        ),
        case(
            "Null true and false: holds either way (values are ORed)",
            &[doc!(
                r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*","Condition":{"Null":{"s3:prefix":["true","false"]}}}"#
            )],
            LIST,
            BKT,
            &[("s3:prefix", &["a"])],
            Allow,
        ),
        case(
            "Null true and false: holds when absent too",
            &[doc!(
                r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*","Condition":{"Null":{"s3:prefix":["false","true"]}}}"#
            )],
            LIST,
            BKT,
            &[],
            Allow,
        ),
        case(
            "ArnLike: each part is compared on its own",
            &[doc!(
                r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*","Condition":{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:user/ci-*"}}}"#
            )],
            LIST,
            BKT,
            &[("aws:PrincipalArn", &["arn:aws:iam::111122223333:user/ci-a"])],
            Allow,
        ),
        case(
            "ArnLike: a * never spans a colon",
            &[doc!(
                r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*","Condition":{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:user/x"}}}"#
            )],
            LIST,
            BKT,
            &[("aws:PrincipalArn", &["arn:aws:iam::1:2:user/x"])],
            ImplicitDeny,
        ),
        case(
            "ArnLike: a value of fewer than six parts is undecided",
            &[doc!(
                r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*","Condition":{"ArnLike":{"aws:PrincipalArn":"arn:*"}}}"#
            )],
            LIST,
            BKT,
            &[("aws:PrincipalArn", &["arn:aws:iam::111122223333:user/ci-a"])],
            Undecided,
        ),
        case(
            "ArnEquals: behaves as ArnLike",
            &[doc!(
                r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*","Condition":{"ArnEquals":{"aws:PrincipalArn":"arn:aws:iam::1111?2223333:user/*"}}}"#
            )],
            LIST,
            BKT,
            &[("aws:PrincipalArn", &["arn:aws:iam::111122223333:user/x"])],
            Allow,
        ),
        case(
            "ArnNotLike: holds when no part-wise match",
            &[doc!(
                r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*","Condition":{"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/*"}}}"#
            )],
            LIST,
            BKT,
            &[("aws:PrincipalArn", &["arn:aws:iam::111122223333:user/x"])],
            Allow,
        ),
        case(
            "ArnLikeIfExists: a missing key holds",
            &[doc!(
                r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*","Condition":{"ArnLikeIfExists":{"aws:PrincipalArn":"arn:aws:iam::*:role/*"}}}"#
            )],
            LIST,
            BKT,
            &[("aws:PrincipalArn", &[])],
            Allow,
        ),
        case(
            "NumericLessThanEquals: compares numbers",
            &[doc!(
                r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*","Condition":{"NumericLessThanEquals":{"s3:max-keys":"10"}}}"#
            )],
            LIST,
            BKT,
            &[("s3:max-keys", &["10"])],
            Allow,
        ),
        case(
            "NumericLessThan: a larger number does not hold",
            &[doc!(
                r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*","Condition":{"NumericLessThan":{"s3:max-keys":"10"}}}"#
            )],
            LIST,
            BKT,
            &[("s3:max-keys", &["100"])],
            ImplicitDeny,
        ),
        case(
            "NumericEqualsIfExists: a missing key holds",
            &[doc!(
                r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*","Condition":{"NumericEqualsIfExists":{"s3:max-keys":"10"}}}"#
            )],
            LIST,
            BKT,
            &[],
            Allow,
        ),
        case(
            "ForAnyValue: holds when any request value matches",
            &[doc!(
                r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*","Condition":{"ForAnyValue:StringEquals":{"aws:TagKeys":["a"]}}}"#
            )],
            LIST,
            BKT,
            &[("aws:TagKeys", &["b", "a"])],
            Allow,
        ),
        case(
            "ForAnyValue: a missing key does not hold",
            &[doc!(
                r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*","Condition":{"ForAnyValue:StringEquals":{"aws:TagKeys":["a"]}}}"#
            )],
            LIST,
            BKT,
            &[("aws:TagKeys", &[])],
            ImplicitDeny,
        ),
        case(
            "ForAllValues: holds when every request value matches",
            &[doc!(
                r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*","Condition":{"ForAllValues:StringEquals":{"aws:TagKeys":["a","b"]}}}"#
            )],
            LIST,
            BKT,
            &[("aws:TagKeys", &["b", "c"])],
            ImplicitDeny,
        ),
        case(
            "ForAllValues: a missing key holds",
            &[doc!(
                r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*","Condition":{"ForAllValues:StringEquals":{"aws:TagKeys":["a"]}}}"#
            )],
            LIST,
            BKT,
            &[("aws:TagKeys", &[])],
            Allow,
        ),
        case(
            "ForAnyValue:StringNotEquals: holds when some value differs",
            &[doc!(
                r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*","Condition":{"ForAnyValue:StringNotEquals":{"aws:TagKeys":["a"]}}}"#
            )],
            LIST,
            BKT,
            &[("aws:TagKeys", &["a", "b"])],
            Allow,
        ),
        case(
            "ForAllValues:StringNotEquals: holds when every value differs",
            &[doc!(
                r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*","Condition":{"ForAllValues:StringNotEquals":{"aws:TagKeys":["a"]}}}"#
            )],
            LIST,
            BKT,
            &[("aws:TagKeys", &["a", "b"])],
            ImplicitDeny,
        ),
        case(
            "Principal: a resource-policy statement is not evaluated as identity policy",
            &[doc!(
                r#"{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}"#
            )],
            "s3:GetObject",
            OBJ,
            &[],
            Undecided,
        ),
        Case {
            boundary: Some(doc!(
                r#"{"Effect":"Allow","Action":"s3:Get*","Resource":"*"}"#
            )),
            ..case(
                "boundary: allowed by both -> allowed",
                &[GET_B],
                "s3:GetObject",
                OBJ,
                &[],
                Allow,
            )
        },
        Case {
            boundary: Some(doc!(
                r#"{"Effect":"Allow","Action":"s3:List*","Resource":"*"}"#
            )),
            ..case(
                "boundary: not allowed by the boundary -> denied",
                &[GET_B],
                "s3:GetObject",
                OBJ,
                &[],
                BoundaryDeny,
            )
        },
        Case {
            boundary: Some(doc!(r#"{"Effect":"Allow","Action":"s3:*","Resource":"*"}"#)),
            ..case(
                "boundary: a boundary grants nothing by itself",
                &[],
                "s3:GetObject",
                OBJ,
                &[],
                ImplicitDeny,
            )
        },
        Case {
            boundary: Some(doc!(
                r#"{"Effect":"Allow","Action":"s3:*","Resource":"*"},{"Effect":"Deny","Action":"s3:GetObject","Resource":"*"}"#
            )),
            ..case(
                "boundary: a Deny in the boundary denies",
                &[GET_B],
                "s3:GetObject",
                OBJ,
                &[],
                BoundaryDeny,
            )
        },
    ]
}

fn context_of(pairs: &[(&str, &[&str])]) -> Context {
    pairs.iter().fold(Context::new(), |c, (k, v)| {
        if v.is_empty() {
            c.without(k)
        } else {
            c.with(k, v)
        }
    })
}

#[test]
fn conformance_with_the_documented_rules() {
    let cases = cases();
    let mut wrong = Vec::new();
    for c in &cases {
        let docs: Vec<PolicyDocument> = c
            .policies
            .iter()
            .map(|p| PolicyDocument::parse(p).unwrap_or_else(|e| panic!("{}: {e}", c.rule)))
            .collect();
        let boundary = c.boundary.map(|b| PolicyDocument::parse(b).unwrap());
        let policies = Policies {
            known: docs
                .iter()
                .enumerate()
                .map(|(i, d)| (format!("p{i}"), d))
                .collect(),
            unknown: vec![],
            boundary: boundary.as_ref().map(|b| ("boundary".to_owned(), Some(b))),
        };
        let context = context_of(c.context);
        let got = evaluate(
            &Request {
                action: c.action,
                resource: c.resource,
                context: &context,
            },
            &policies,
        );
        if outcome(&got) != c.want {
            wrong.push(format!("{}: want {:?}, got {got:?}", c.rule, c.want));
        }
        // The naive evaluator agrees with the table wherever it decides.
        let naive = naive::evaluate(
            &c.policies
                .iter()
                .map(|p| serde_json::from_str(p).unwrap())
                .collect::<Vec<_>>(),
            c.boundary
                .map(|b| serde_json::from_str(b).unwrap())
                .as_ref(),
            c.action,
            c.resource,
            c.context,
        );
        if let Some(n) = naive {
            if n != c.want {
                wrong.push(format!("{} (naive): want {:?}, got {n:?}", c.rule, c.want));
            }
        }
    }
    assert!(cases.len() >= 60, "one case per documented rule");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// A second evaluator, deliberately simple: straight from the documentation's prose, over JSON values, with
/// recursive wildcard matching. `None` where the document leaves it to a case the table covers (unknown keys,
/// unimplemented operators, Principal statements).
mod naive {
    use super::Want;
    use serde_json::Value;

    /// Stand-ins for a literal `*` and `?` after `${*}` / `${?}` or a substituted value.
    const STAR: char = '\u{E001}';
    const QUESTION: char = '\u{E002}';

    fn list(v: Option<&Value>) -> Vec<String> {
        match v {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(a)) => a
                .iter()
                .map(|x| match x {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect(),
            Some(Value::Bool(b)) => vec![b.to_string()],
            _ => vec![],
        }
    }

    fn glob(p: &[char], t: &[char]) -> bool {
        match p.split_first() {
            None => t.is_empty(),
            Some(('*', rest)) => (0..=t.len()).any(|i| glob(rest, &t[i..])),
            Some(('?', rest)) => !t.is_empty() && glob(rest, &t[1..]),
            Some((c, rest)) => {
                let lit = match *c {
                    STAR => '*',
                    QUESTION => '?',
                    c => c,
                };
                t.first() == Some(&lit) && glob(rest, &t[1..])
            }
        }
    }

    fn like(p: &str, t: &str) -> bool {
        glob(
            &p.chars().collect::<Vec<_>>(),
            &t.chars().collect::<Vec<_>>(),
        )
    }

    fn unescape(p: &str) -> String {
        p.replace([STAR], "*").replace([QUESTION], "?")
    }

    /// Substitutes variables when the document's version has them; `None` when a variable has no value.
    fn vars(text: &str, versioned: bool, ctx: &[(&str, &[&str])]) -> Option<String> {
        if !versioned {
            return Some(text.to_owned());
        }
        let mut out = text
            .replace("${*}", &STAR.to_string())
            .replace("${?}", &QUESTION.to_string())
            .replace("${$}", "$");
        while let Some(start) = out.find("${") {
            let end = start + out[start..].find('}')?;
            let key = out[start + 2..end].to_ascii_lowercase();
            let (_, values) = ctx.iter().find(|(k, _)| k.eq_ignore_ascii_case(&key))?;
            let [value] = values else { return None };
            let value = value
                .replace('*', &STAR.to_string())
                .replace('?', &QUESTION.to_string());
            out.replace_range(start..=end, &value);
        }
        Some(out)
    }

    fn cond(
        op: &str,
        key: &str,
        want: &[String],
        versioned: bool,
        ctx: &[(&str, &[&str])],
    ) -> Option<bool> {
        let values: Option<&[&str]> = ctx
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| *v)
            .or(if key.eq_ignore_ascii_case("s3:prefix") {
                Some(&[])
            } else {
                None
            });
        let values = values?;
        let present = !values.is_empty();
        if op == "Null" {
            return Some(want.iter().any(|w| (w == "true") != present));
        }
        let (quant, op) = if let Some(o) = op.strip_prefix("ForAnyValue:") {
            ("any", o)
        } else if let Some(o) = op.strip_prefix("ForAllValues:") {
            ("all", o)
        } else {
            ("", op)
        };
        let (op, if_exists) = op
            .strip_suffix("IfExists")
            .map_or((op, false), |o| (o, true));
        let (base, negated) = match op {
            "StringNotEquals" => ("StringEquals", true),
            "StringNotEqualsIgnoreCase" => ("StringEqualsIgnoreCase", true),
            "StringNotLike" => ("StringLike", true),
            "ArnNotLike" | "ArnNotEquals" => ("ArnLike", true),
            "ArnEquals" => ("ArnLike", false),
            "NumericNotEquals" => ("NumericEquals", true),
            o => (o, false),
        };
        if !present {
            return Some(if_exists || quant == "all" || (quant.is_empty() && negated));
        }
        let mut pats = Vec::new();
        for w in want {
            pats.push(vars(w, versioned, ctx)?);
        }
        let one = |v: &str, p: &str| -> Option<bool> {
            Some(match base {
                "StringEquals" => unescape(p) == v,
                "StringEqualsIgnoreCase" => unescape(p).to_lowercase() == v.to_lowercase(),
                "StringLike" => like(p, v),
                "Bool" => p.eq_ignore_ascii_case(v),
                "ArnLike" => {
                    let pp: Vec<&str> = p.splitn(6, ':').collect();
                    let vp: Vec<&str> = v.splitn(6, ':').collect();
                    if pp.len() < 6 {
                        return None;
                    }
                    vp.len() == 6 && pp.iter().zip(&vp).all(|(a, b)| like(a, b))
                }
                "NumericEquals"
                | "NumericLessThan"
                | "NumericLessThanEquals"
                | "NumericGreaterThan"
                | "NumericGreaterThanEquals" => {
                    let (a, b) = (v.parse::<f64>().ok(), p.parse::<f64>().ok());
                    match (a, b) {
                        (Some(a), Some(b)) => match base {
                            "NumericEquals" => a == b,
                            "NumericLessThan" => a < b,
                            "NumericLessThanEquals" => a <= b,
                            "NumericGreaterThan" => a > b,
                            _ => a >= b,
                        },
                        _ => false,
                    }
                }
                _ => return None,
            })
        };
        let mut per_value = Vec::new();
        for v in values {
            let mut any = false;
            for p in &pats {
                any |= one(v, p)?;
            }
            per_value.push(any);
        }
        Some(match (quant, negated) {
            ("", false) | ("any", false) => per_value.iter().any(|m| *m),
            ("", true) => !per_value.iter().any(|m| *m),
            ("any", true) => per_value.iter().any(|m| !*m),
            (_, false) => per_value.iter().all(|m| *m),
            (_, true) => per_value.iter().all(|m| !*m),
        })
    }

    /// Whether a statement applies; `None` when this evaluator does not decide it.
    fn applies(
        doc: &Value,
        st: &Value,
        action: &str,
        resource: &str,
        ctx: &[(&str, &[&str])],
    ) -> Option<bool> {
        if st.get("Principal").is_some() {
            return None;
        }
        let versioned = doc.get("Version").and_then(Value::as_str) == Some("2012-10-17");
        let (actions, not_action) = match st.get("Action") {
            Some(a) => (list(Some(a)), false),
            None => (list(st.get("NotAction")), true),
        };
        let hit = actions
            .iter()
            .any(|a| like(&a.to_lowercase(), &action.to_lowercase()));
        if hit == not_action {
            return Some(false);
        }
        let (resources, not_resource) = match (st.get("Resource"), st.get("NotResource")) {
            (Some(r), _) => (list(Some(r)), false),
            (None, Some(r)) => (list(Some(r)), true),
            (None, None) => return Some(false),
        };
        let mut hit = false;
        for r in &resources {
            hit |= like(&vars(r, versioned, ctx)?, resource);
        }
        if hit == not_resource {
            return Some(false);
        }
        if let Some(Value::Object(ops)) = st.get("Condition") {
            for (op, keys) in ops {
                for (key, want) in keys.as_object()? {
                    if !cond(op, key, &list(Some(want)), versioned, ctx)? {
                        return Some(false);
                    }
                }
            }
        }
        Some(true)
    }

    /// (any Allow applies, any Deny applies) over the documents.
    fn scan(
        docs: &[Value],
        action: &str,
        resource: &str,
        ctx: &[(&str, &[&str])],
    ) -> Option<(bool, bool)> {
        let (mut allow, mut deny) = (false, false);
        for doc in docs {
            let statements = match doc.get("Statement") {
                Some(Value::Array(a)) => a.clone(),
                Some(one) => vec![one.clone()],
                None => vec![],
            };
            for st in &statements {
                if applies(doc, st, action, resource, ctx)? {
                    match st.get("Effect").and_then(Value::as_str) {
                        Some("Allow") => allow = true,
                        _ => deny = true,
                    }
                }
            }
        }
        Some((allow, deny))
    }

    pub fn evaluate(
        docs: &[Value],
        boundary: Option<&Value>,
        action: &str,
        resource: &str,
        ctx: &[(&str, &[&str])],
    ) -> Option<Want> {
        let (allow, deny) = scan(docs, action, resource, ctx)?;
        if deny {
            return Some(Want::ExplicitDeny);
        }
        if !allow {
            return Some(Want::ImplicitDeny);
        }
        if let Some(b) = boundary {
            let (b_allow, b_deny) = scan(std::slice::from_ref(b), action, resource, ctx)?;
            if b_deny || !b_allow {
                return Some(Want::BoundaryDeny);
            }
        }
        Some(Want::Allow)
    }
}

// Generated policies: a small alphabet, so that matches and near-misses are both common.
const ACTIONS: &[&str] = &[
    "s3:GetObject",
    "s3:Get*",
    "s3:*",
    "S3:putobject",
    "s3:ListBucket",
    "*",
    "s3:?etObject",
];
const RESOURCES: &[&str] = &[
    "*",
    "arn:aws:s3:::b",
    "arn:aws:s3:::b/*",
    "arn:aws:s3:::b/${aws:username}/*",
    "arn:aws:s3:::b/${*}",
    "arn:aws:s3:::b/${?}",
    "arn:aws:s3:::*/k",
    "arn:aws:s3:::b/a?",
    "arn:aws:s3:::B/*",
];
const CONDITIONS: &[&str] = &[
    r#"{"StringLike":{"s3:prefix":"a/*"}}"#,
    r#"{"StringLike":{"s3:prefix":"${aws:username}/*"}}"#,
    r#"{"StringEquals":{"s3:prefix":["a","${*}"]}}"#,
    r#"{"StringNotEquals":{"s3:prefix":"a"}}"#,
    r#"{"StringEqualsIfExists":{"s3:prefix":"a"}}"#,
    r#"{"StringNotLikeIfExists":{"s3:prefix":"a*"}}"#,
    r#"{"Null":{"s3:prefix":"true"}}"#,
    r#"{"Null":{"s3:prefix":["true","false"]}}"#,
    r#"{"Bool":{"aws:SecureTransport":"true"}}"#,
    r#"{"BoolIfExists":{"aws:SecureTransport":"false"}}"#,
    r#"{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:user/*"}}"#,
    r#"{"ArnNotEquals":{"aws:PrincipalArn":"arn:aws:iam::111122223333:*"}}"#,
    r#"{"ForAnyValue:StringEquals":{"aws:TagKeys":["a","b"]}}"#,
    r#"{"ForAllValues:StringLike":{"aws:TagKeys":["a*"]}}"#,
    r#"{"ForAnyValue:StringNotEquals":{"aws:TagKeys":"a"}}"#,
    r#"{"NumericLessThanEquals":{"s3:max-keys":"10"}}"#,
];
const VERSIONS: &[Option<&str>] = &[
    Some("2012-10-17"),
    Some("2012-10-17"),
    Some("2008-10-17"),
    None,
];

fn statement() -> impl Strategy<Value = Value> {
    (
        prop::bool::weighted(0.3),
        prop::sample::subsequence(ACTIONS, 1..3),
        prop::bool::weighted(0.2),
        prop::sample::subsequence(RESOURCES, 1..3),
        prop::bool::weighted(0.2),
        prop::option::weighted(0.4, prop::sample::select(CONDITIONS)),
    )
        .prop_map(
            |(deny, actions, not_action, resources, not_resource, condition)| {
                let mut st = serde_json::Map::new();
                st.insert("Effect".into(), json!(if deny { "Deny" } else { "Allow" }));
                st.insert(
                    (if not_action { "NotAction" } else { "Action" }).into(),
                    json!(actions),
                );
                st.insert(
                    (if not_resource {
                        "NotResource"
                    } else {
                        "Resource"
                    })
                    .into(),
                    json!(resources),
                );
                if let Some(c) = condition {
                    st.insert("Condition".into(), serde_json::from_str(c).unwrap());
                }
                Value::Object(st)
            },
        )
}

fn document() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(VERSIONS),
        prop::collection::vec(statement(), 1..4),
    )
        .prop_map(|(v, sts)| {
            let mut doc = serde_json::Map::new();
            if let Some(v) = v {
                doc.insert("Version".into(), json!(v));
            }
            doc.insert("Statement".into(), json!(sts));
            Value::Object(doc)
        })
}

const REQUEST_ACTIONS: &[&str] = &[
    "s3:GetObject",
    "s3:PutObject",
    "s3:ListBucket",
    "s3:DeleteObject",
];
const REQUEST_RESOURCES: &[&str] = &[
    "arn:aws:s3:::b",
    "arn:aws:s3:::b/k",
    "arn:aws:s3:::b/*",
    "arn:aws:s3:::b/?",
    "arn:aws:s3:::b/alice/k",
    "arn:aws:s3:::b/${aws:username}/k",
    "arn:aws:s3:::c/k",
    "arn:aws:s3:::b/ab",
];
const USERNAMES: &[&str] = &["alice", "*", "a?"];
const PREFIXES: &[&[&str]] = &[&[], &["a"], &["a/x"], &["alice/x"], &["*"], &["b"]];
const SECURE: &[&[&str]] = &[&[], &["true"], &["false"]];
const PRINCIPALS: &[&[&str]] = &[
    &[],
    &["arn:aws:iam::111122223333:user/x"],
    &["arn:aws:iam::444455556666:role/r"],
];
const TAG_KEYS: &[&[&str]] = &[&[], &["a"], &["a", "c"], &["b", "ab"]];
const MAX_KEYS: &[&[&str]] = &[&[], &["5"], &["100"]];

type Ctx = Vec<(&'static str, &'static [&'static str])>;

fn request_context() -> impl Strategy<Value = Ctx> {
    (
        prop::sample::select(USERNAMES),
        prop::sample::select(PREFIXES),
        prop::sample::select(SECURE),
        prop::sample::select(PRINCIPALS),
        prop::sample::select(TAG_KEYS),
        prop::sample::select(MAX_KEYS),
    )
        .prop_map(|(user, prefix, secure, principal, tags, max_keys)| {
            let user: &'static [&'static str] = match user {
                "alice" => &["alice"],
                "*" => &["*"],
                _ => &["a?"],
            };
            vec![
                ("aws:username", user),
                ("s3:prefix", prefix),
                ("aws:SecureTransport", secure),
                ("aws:PrincipalArn", principal),
                ("aws:TagKeys", tags),
                ("s3:max-keys", max_keys),
            ]
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    /// Wherever the naive evaluator decides, iamspec's agrees with it exactly (allow, which kind of deny).
    #[test]
    fn agrees_with_a_naive_evaluator_on_generated_policies(
        docs in prop::collection::vec(document(), 1..3),
        boundary in prop::option::weighted(0.3, document()),
        action in prop::sample::select(REQUEST_ACTIONS),
        resource in prop::sample::select(REQUEST_RESOURCES),
        ctx in request_context(),
    ) {
        let parsed: Vec<PolicyDocument> = docs.iter().map(|d| PolicyDocument::from_value(d).unwrap()).collect();
        let parsed_boundary = boundary.as_ref().map(|b| PolicyDocument::from_value(b).unwrap());
        let policies = Policies {
            known: parsed.iter().enumerate().map(|(i, d)| (format!("p{i}"), d)).collect(),
            unknown: vec![],
            boundary: parsed_boundary.as_ref().map(|b| ("boundary".to_owned(), Some(b))),
        };
        let context = context_of(&ctx);
        let ours = outcome(&evaluate(&Request { action, resource, context: &context }, &policies));
        if let Some(theirs) = naive::evaluate(&docs, boundary.as_ref(), action, resource, &ctx) {
            prop_assert_eq!(ours, theirs, "docs {} boundary {:?}", serde_json::to_string(&docs).unwrap(), boundary);
        }
    }
}
