//! OpenAPI pieces every function's document shares: the error shapes and the bearer scheme.

use utoipa::Modify;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

// The error bodies are core's own types: the same structs build the responses
// (`meetin_core::Refusal::body`) and name their schemas here.
pub use meetin_core::refusal::{
    DetailBody, ErrorBody, FieldErrorsBody, TokenErrorBody, TokenErrorMessage,
};

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
