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
        components(schemas(DetailBody, ErrorBody, FieldErrorsBody, TokenErrorBody, TokenErrorMessage)),
        tags(
            (name = "auth", description = "Registration, login, token rotation, logout, profile"),
            (name = "organizations", description = "Organizations (tenants) and their members"),
            (name = "meta", description = "Service status and this document"),
        )
    )]
    struct Base;

    Base::openapi()
}

/// Adds the responses every operation can give, where a handler did not document them:
/// 401 and 429 for authenticated operations, the JSON 500 for all.
pub fn add_common_responses(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};

    let json = |description: &str, schema: &str| {
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name(schema)))
                    .build(),
            )
            .build()
    };
    for item in doc.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for operation in operations.into_iter().flatten() {
            let authenticated = operation
                .security
                .as_ref()
                .is_some_and(|reqs| reqs.iter().any(|r| *r != Default::default()));
            let responses = &mut operation.responses.responses;
            if authenticated {
                responses.entry("401".into()).or_insert_with(|| {
                    json("Missing, invalid or expired access token", "TokenErrorBody").into()
                });
                responses.entry("429".into()).or_insert_with(|| {
                    json("More than the per-user requests a minute", "DetailBody").into()
                });
            }
            responses.entry("500".into()).or_insert_with(|| {
                json("Unexpected failure, without internals", "ErrorBody").into()
            });
        }
    }
}
