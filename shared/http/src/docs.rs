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
            (name = "meetings", description = "Meetings, their live sessions and speakers"),
            (name = "meta", description = "Service status and this document"),
        )
    )]
    struct Base;

    Base::openapi()
}

/// Adds the responses every operation can give, where a handler did not document them, so
/// that every answer conforms to the document (`make fuzz` checks it):
/// - authenticated operations: 401 (missing credentials `{"detail"}`, or a bad token with
///   `messages`) and 429;
/// - operations with a body: 400 also as `{"detail": "JSON parse error - ..."}`, 413; with a
///   JSON body, 415;
/// - operations with path parameters: 404 for a malformed id (`{"detail"}`, also beside a
///   handler's own 404 body);
/// - every operation: the JSON 500.
pub fn add_common_responses(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{
        Content, ContentBuilder, OneOfBuilder, Ref, RefOr, Response, ResponseBuilder,
        schema::Schema,
    };

    let content = |schema: RefOr<Schema>| ContentBuilder::new().schema(Some(schema)).build();
    let json = |description: &str, schema: &str| -> RefOr<Response> {
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                content(Ref::from_schema_name(schema).into()),
            )
            .build()
            .into()
    };
    // `schema`, or also `other`: a response documented with one body that can also come
    // with another.
    let or_also = |response: &mut RefOr<Response>, other: &str| {
        let RefOr::T(response) = response else { return };
        let Some(RefOr::T(Content {
            schema: Some(schema),
            ..
        })) = response.content.get_mut("application/json")
        else {
            return;
        };
        let other: RefOr<Schema> = Ref::from_schema_name(other).into();
        let already = match &*schema {
            RefOr::Ref(r) => r.ref_location.ends_with(&format!("/{}", schema_name(&other))),
            RefOr::T(Schema::OneOf(one_of)) => one_of.items.iter().any(|item| {
                matches!((item, &other), (RefOr::Ref(a), RefOr::Ref(b)) if a.ref_location == b.ref_location)
            }),
            _ => false,
        };
        if !already {
            let current = schema.clone();
            *schema = Schema::OneOf(OneOfBuilder::new().item(current).item(other).build()).into();
        }
    };
    for (path, item) in doc.paths.paths.iter_mut() {
        let has_path_ids = path.contains('{');
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
            let has_body = operation.request_body.is_some();
            // A multipart body is read by its own rules: never the JSON body's 415.
            let has_json_body = operation
                .request_body
                .as_ref()
                .is_some_and(|body| match body {
                    RefOr::T(body) => body.content.contains_key("application/json"),
                    RefOr::Ref(_) => true,
                });
            let responses = &mut operation.responses.responses;
            if authenticated {
                let unauthorized = responses.entry("401".into()).or_insert_with(|| {
                    json("Missing, invalid or expired access token", "TokenErrorBody")
                });
                or_also(unauthorized, "TokenErrorBody");
                or_also(unauthorized, "DetailBody");
                responses.entry("429".into()).or_insert_with(|| {
                    json("More than the per-user requests a minute", "DetailBody")
                });
            }
            if has_body {
                let bad = responses
                    .entry("400".into())
                    .or_insert_with(|| json("Malformed JSON", "DetailBody"));
                or_also(bad, "DetailBody");
                responses
                    .entry("413".into())
                    .or_insert_with(|| json("The body is over 6 MiB", "DetailBody"));
            }
            if has_json_body {
                responses
                    .entry("415".into())
                    .or_insert_with(|| json("The body is not JSON", "DetailBody"));
            }
            if has_path_ids {
                // A handler's own 404 body (e.g. `{"error": "No active live session"}`) can
                // also be the path's `{"detail": ...}` (no such object, or a malformed id).
                let not_found = responses
                    .entry("404".into())
                    .or_insert_with(|| json("No such object, or a malformed id", "DetailBody"));
                or_also(not_found, "DetailBody");
            }
            responses
                .entry("500".into())
                .or_insert_with(|| json("Unexpected failure, without internals", "ErrorBody"));
        }
    }
}

fn schema_name(schema: &utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>) -> &str {
    match schema {
        utoipa::openapi::RefOr::Ref(r) => r.ref_location.rsplit('/').next().unwrap_or(""),
        utoipa::openapi::RefOr::T(_) => "",
    }
}
