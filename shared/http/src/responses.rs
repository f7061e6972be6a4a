//! Named response sets for `#[utoipa::path(responses(...))]`: the refusals many operations
//! share, written once. List one beside an operation's own tuples, e.g.
//! `responses((status = 200, ...), MeetingWrite::<ActionItem>)`; a tuple given after a set
//! replaces the set's response of the same status.
//!
//! Each body is `{"detail": ...}` ([`DetailBody`](crate::docs::DetailBody)), as
//! `meetin_core::Refusal` renders these refusals.

use std::collections::BTreeMap;
use std::marker::PhantomData;

use utoipa::IntoResponses;
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};

/// What a 404 names: Django's `get_object_or_404` message is `No <NAME> matches the given
/// query.`.
pub trait Model {
    const NAME: &'static str;
}

macro_rules! models {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy)]
        pub enum $name {}

        impl Model for $name {
            const NAME: &'static str = stringify!($name);
        }
    )*};
}

models!(
    /// A meeting (`/api/meetings/{id}/…`, `/api/transcription/meetings/{meeting_id}/…`).
    Meeting,
    /// A meeting's action item.
    ActionItem,
    /// A meeting's minutes.
    Minutes,
    /// A meeting's recording.
    Recording,
    /// A meeting's speaker.
    Speaker,
);

/// The meeting-scoped 403: the caller's role in the meeting's organization is `viewer`, which
/// reads but does not write.
pub const VIEWER: &str = "A viewer of the meeting's organization";

/// A `{"detail": ...}` response.
fn detail(description: &str) -> RefOr<Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("DetailBody")))
                .build(),
        )
        .build()
        .into()
}

/// The 404 of an operation on the meeting, or on an `M` of it: `` `No Meeting matches the
/// given query.` `` (also for a meeting outside the caller's organizations), then `` or `No
/// M matches the given query.` `` when `M` is not the meeting itself.
fn meeting_not_found<M: Model>() -> String {
    let meeting = format!("`No {} matches the given query.`", Meeting::NAME);
    if M::NAME == Meeting::NAME {
        meeting
    } else {
        format!("{meeting} or `No {} matches the given query.`", M::NAME)
    }
}

/// A read of the meeting or of an `M` of it (any role): the 404 only.
#[derive(Debug, Clone, Copy)]
pub struct MeetingRead<M: Model = Meeting>(PhantomData<M>);

impl<M: Model> IntoResponses for MeetingRead<M> {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        BTreeMap::from([("404".to_owned(), detail(&meeting_not_found::<M>()))])
    }
}

/// A write to the meeting or to an `M` of it (members and admins): the viewer's 403 and the
/// 404 of [`MeetingRead`].
#[derive(Debug, Clone, Copy)]
pub struct MeetingWrite<M: Model = Meeting>(PhantomData<M>);

impl<M: Model> IntoResponses for MeetingWrite<M> {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        let mut responses = MeetingRead::<M>::responses();
        responses.extend(Viewer::responses());
        responses
    }
}

/// A page of a meeting's objects (any role): the 404 of the meeting or of a page past the
/// last.
#[derive(Debug, Clone, Copy)]
pub struct MeetingList;

impl IntoResponses for MeetingList {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        BTreeMap::from([(
            "404".to_owned(),
            detail(&format!(
                "{} or `Invalid page.`",
                meeting_not_found::<Meeting>()
            )),
        )])
    }
}

/// The viewer's 403 alone, for writes whose 404 is their own.
#[derive(Debug, Clone, Copy)]
pub struct Viewer;

impl IntoResponses for Viewer {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        BTreeMap::from([("403".to_owned(), detail(VIEWER))])
    }
}

/// An operation on an organization only its admins see: the 404 (a member who is not an
/// admin is not told the organization exists).
#[derive(Debug, Clone, Copy)]
pub struct OrganizationAdmin;

impl IntoResponses for OrganizationAdmin {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        BTreeMap::from([(
            "404".to_owned(),
            detail("Not an admin of it, or no such organization"),
        )])
    }
}

/// An admin's operation on one membership of an organization: the 403 and the 404.
#[derive(Debug, Clone, Copy)]
pub struct MembershipAdmin;

impl IntoResponses for MembershipAdmin {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        BTreeMap::from([
            ("403".to_owned(), detail("Not an admin of the organization")),
            (
                "404".to_owned(),
                detail("No such membership in the organization"),
            ),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meeting_404s_name_the_meeting_first() {
        let description = |r: &RefOr<Response>| match r {
            RefOr::T(r) => r.description.clone(),
            RefOr::Ref(_) => String::new(),
        };
        assert_eq!(
            description(&MeetingRead::<Meeting>::responses()["404"]),
            "`No Meeting matches the given query.`"
        );
        let write = MeetingWrite::<ActionItem>::responses();
        assert_eq!(
            description(&write["404"]),
            "`No Meeting matches the given query.` or `No ActionItem matches the given query.`"
        );
        assert_eq!(description(&write["403"]), VIEWER);
    }
}
