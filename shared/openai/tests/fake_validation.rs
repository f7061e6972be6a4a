//! The fake validates requests the way the real services do (protocols.md §4.1, §4.4), so a
//! green client test means the real service would accept the same request. Raw requests, since
//! the client never sends these mistakes.

use meetin_test_support::fake_openai::FakeOpenAi;
use serde_json::{Value, json};

async fn post(url: &str, auth: (&str, &str), body: &Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(url)
        .header(auth.0, auth.1)
        .json(body)
        .send()
        .await
        .expect("fake answers");
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON body"))
}

fn valid_body() -> Value {
    json!({
        "model": "gpt-4o-mini",
        "messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}],
        "max_completion_tokens": 100,
        "response_format": {"type": "json_schema", "json_schema": {"name": "m", "strict": true,
            "schema": {"type": "object", "properties": {"a": {"type": "string"}},
                       "required": ["a"], "additionalProperties": false}}},
    })
}

#[tokio::test]
async fn openai_body_errors() {
    let fake = FakeOpenAi::start().await.expect("fake");
    let url = format!("{}/chat/completions", fake.base_url);
    let bearer = format!("Bearer {}", fake.api_key);
    let auth = ("authorization", bearer.as_str());

    let (status, body) = post(&url, auth, &valid_body()).await;
    assert_eq!(status, 200);
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["choices"][0]["message"]["content"], r#"{"a":""}"#);
    assert_eq!(body["choices"][0]["message"]["refusal"], Value::Null);
    assert_eq!(body["choices"][0]["logprobs"], Value::Null);
    assert_eq!(body["choices"][0]["index"], 0);
    assert!(
        body["id"]
            .as_str()
            .is_some_and(|id| id.starts_with("chatcmpl-"))
    );
    assert!(body["created"].is_i64());

    let mut no_messages = valid_body();
    no_messages
        .as_object_mut()
        .expect("object")
        .remove("messages");
    let (status, body) = post(&url, auth, &no_messages).await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"error": {"message": "Missing required parameter: 'messages'.",
            "type": "invalid_request_error", "param": "messages", "code": "missing_required_parameter"}})
    );

    let mut no_name = valid_body();
    no_name["response_format"]["json_schema"]
        .as_object_mut()
        .expect("object")
        .remove("name");
    let (status, body) = post(&url, auth, &no_name).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["param"], "response_format.json_schema.name");

    let mut bad_name = valid_body();
    bad_name["response_format"]["json_schema"]["name"] = json!("meeting minutes");
    let (status, body) = post(&url, auth, &bad_name).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "invalid_value");

    let mut open = valid_body();
    open["response_format"]["json_schema"]["schema"]
        .as_object_mut()
        .expect("object")
        .remove("additionalProperties");
    let (status, body) = post(&url, auth, &open).await;
    assert_eq!(status, 400);
    assert_eq!(
        body["error"]["message"],
        "Invalid schema for response_format 'm': In context=(), 'additionalProperties' is required to be supplied and to be false."
    );
    assert_eq!(body["error"]["type"], "invalid_request_error");

    let mut defaulted = valid_body();
    defaulted["response_format"]["json_schema"]["schema"]["properties"]["a"]["default"] =
        json!("x");
    let (status, body) = post(&url, auth, &defaulted).await;
    assert_eq!(status, 400);
    assert_eq!(
        body["error"]["message"],
        "Invalid schema for response_format 'm': In context=('properties', 'a'), 'default' is not permitted."
    );

    // Not strict: the same open schema is accepted.
    open["response_format"]["json_schema"]["strict"] = json!(false);
    assert_eq!(post(&url, auth, &open).await.0, 200);

    let mut no_model = valid_body();
    no_model.as_object_mut().expect("object").remove("model");
    assert_eq!(post(&url, auth, &no_model).await.0, 400);

    let mut hot = valid_body();
    hot["temperature"] = json!(2.5);
    let (status, body) = post(&url, auth, &hot).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["param"], "temperature");

    let (status, body) = post(&url, ("authorization", "Bearer nope"), &valid_body()).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "invalid_api_key");

    assert_eq!(fake.requests().len(), 10, "every request is recorded");
}

#[tokio::test]
async fn azure_route_errors() {
    let fake = FakeOpenAi::start().await.expect("fake");
    let url = |deployment: &str, version: Option<&str>| {
        let mut url = fake
            .endpoint
            .join(&format!("openai/deployments/{deployment}/chat/completions"))
            .expect("url");
        if let Some(version) = version {
            url.query_pairs_mut().append_pair("api-version", version);
        }
        url.to_string()
    };
    let auth = ("api-key", fake.api_key.as_str());

    let (status, body) = post(&url("d", Some("2024-10-21")), auth, &valid_body()).await;
    assert_eq!(status, 200);
    assert!(body["prompt_filter_results"].is_array());

    let (status, _) = post(&url("d", None), auth, &valid_body()).await;
    assert_eq!(status, 400);

    let (status, body) = post(&url("d", Some("2024-06-01")), auth, &valid_body()).await;
    assert_eq!(status, 400);
    assert_eq!(
        body["error"]["message"],
        "response_format value as json_schema is enabled only for api versions 2024-08-01-preview and later"
    );
    // An old version is fine without json_schema.
    let mut text = valid_body();
    text.as_object_mut()
        .expect("object")
        .remove("response_format");
    let (status, body) = post(&url("d", Some("2024-06-01")), auth, &text).await;
    assert_eq!(status, 200);
    assert_eq!(
        body["choices"][0]["message"]["content"],
        meetin_test_support::fake_openai::DEFAULT_TEXT
    );

    let (status, body) = post(
        &url("d", Some("2024-10-21")),
        ("api-key", "wrong"),
        &valid_body(),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "401");

    fake.only_deployments(["minutes"]);
    let (status, body) = post(&url("d", Some("2024-10-21")), auth, &valid_body()).await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "DeploymentNotFound");
    assert_eq!(
        post(&url("minutes", Some("2024-10-21")), auth, &valid_body())
            .await
            .0,
        200
    );
}
