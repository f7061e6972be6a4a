//! Speaker names: `PATCH /api/meetings/{id}/speakers/{speaker_id}/` where `speaker_id` is the
//! speaker's id or, as the existing frontend sends it, its label (`Speaker%200`).

use axum::Json;
use axum::extract::State;
use meetin_data::speakers;
use meetin_http::docs::ErrorBody;
use meetin_http::extract::path_uuid;
use meetin_http::responses::{self, MeetingWrite};
use meetin_http::{ApiError, ApiResult, AppContext, AuthUser, JsonBody, PathParams};
use serde::Deserialize;
use uuid::Uuid;

use crate::json::{SpeakerJson, SpeakerPatch};
use crate::meetings::writable;

/// `/api/meetings/{id}/speakers/{speaker_id}/`.
#[derive(Debug, Deserialize)]
pub struct SpeakerPath {
    #[serde(deserialize_with = "path_uuid")]
    pub id: Uuid,
    /// A speaker id, or a speaker label (percent-decoded).
    pub speaker_id: String,
}

const SPEAKER: &str = "Speaker";

/// Names a speaker of the meeting (members and admins). An empty, `null` or missing
/// `display_name` changes nothing and answers the speaker.
#[utoipa::path(
    patch, path = "/api/meetings/{id}/speakers/{speaker_id}/", tag = "meetings", operation_id = "meetings_speaker_rename",
    params(
        ("id" = uuid::Uuid, Path, description = "Meeting id"),
        ("speaker_id" = String, Path, description = "Speaker id, or the speaker's label (e.g. `Speaker%200`)"),
    ),
    request_body = SpeakerPatch,
    responses(
        (status = 200, description = "The speaker", body = SpeakerJson),
        (status = 400, description = "`{\"error\": \"Display name too long\"}` (over 255 characters), or a `display_name` that is not text", body = ErrorBody),
        MeetingWrite::<responses::Speaker>,
    ),
    security(("jwt" = []))
)]
pub async fn rename(
    State(ctx): State<AppContext>,
    AuthUser(caller): AuthUser,
    PathParams(SpeakerPath { id, speaker_id }): PathParams<SpeakerPath>,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<SpeakerJson>> {
    writable(&ctx, caller.id, id).await?;
    let speaker = match SpeakerPatch::parse(&body)? {
        Some(name) => speakers::rename(&ctx.pool, caller.id, id, &speaker_id, &name).await?,
        None => speakers::find_in_meeting(&ctx.pool, caller.id, id, &speaker_id).await?,
    };
    match speaker {
        Some(s) => Ok(Json(s.into())),
        // The meeting may have been deleted since the check (its speakers with it): that is
        // the meeting's 404, not the speaker's.
        None => {
            writable(&ctx, caller.id, id).await?;
            Err(ApiError::no_match(SPEAKER))
        }
    }
}
