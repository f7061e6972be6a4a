//! OpenAPI pieces every function's document shares: the error shapes and the bearer scheme.

use std::collections::BTreeMap;

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, ToSchema};

/// `{"detail": "..."}` — 401, 403, 404, 405, 413, 415, 429 and some 400s.
#[derive(ToSchema)]
#[schema(example = json!({"detail": "Not found."}))]
pub struct DetailBody {
    pub detail: String,
    /// Present on some authentication failures, e.g. `token_not_valid`.
    pub code: Option<String>,
}

/// A bad access token: `{"detail", "code", "messages"}`.
#[derive(ToSchema)]
pub struct TokenErrorBody {
    pub detail: String,
    pub code: String,
    pub messages: Vec<TokenErrorMessage>,
}

#[derive(ToSchema)]
pub struct TokenErrorMessage {
    pub token_class: String,
    pub token_type: String,
    pub message: String,
}

/// Field errors: each field (or `non_field_errors`) with its messages.
#[derive(ToSchema)]
#[schema(example = json!({"email": ["Enter a valid email address."]}))]
pub struct FieldErrorsBody(pub BTreeMap<String, Vec<String>>);

/// `{"error": "..."}` — hand-written errors, and every 500.
#[derive(ToSchema)]
#[schema(example = json!({"error": "An internal error occurred. Please try again later."}))]
pub struct ErrorBody {
    pub error: String,
}

/// Adds the `jwt` bearer scheme that protected operations name.
pub struct BearerJwt;

impl Modify for BearerJwt {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "jwt",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// The document every function's routes are added to.
pub fn base_document() -> utoipa::openapi::OpenApi {
    use utoipa::OpenApi;

    #[derive(OpenApi)]
    #[openapi(
        info(
            title = "meetIN API",
            description = "The HTTP API of meetIN, served by one AWS Lambda per endpoint group behind API Gateway. \
                           Errors come in three shapes: `{\"detail\": ...}`, field errors `{\"field\": [...]}` \
                           and `{\"error\": ...}`. Lists are paginated 20 a page with absolute `next`/`previous` links."
        ),
        modifiers(&BearerJwt),
        tags(
            (name = "auth", description = "Registration, login, token rotation, logout, profile"),
            (name = "organizations", description = "Organizations (tenants) and their members"),
            (name = "meta", description = "Service status and this document"),
        )
    )]
    struct Base;

    Base::openapi()
}
