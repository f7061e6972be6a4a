use super::*;

#[test]
fn openapi_error_bodies_classify() {
    let e = status_error(
        401,
        br#"{"error":{"message":"Incorrect API key provided: sk-abc***xyz.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}"#,
    );
    assert!(
        matches!(&e, LlmError::Rejected { status: 401, code: Some(c), message }
            if c == "invalid_api_key" && message.starts_with("Incorrect API key"))
    );
    assert!(!e.is_retryable());
    let e = status_error(
        429,
        br#"{"error":{"message":"You exceeded your current quota, please check your plan and billing details.","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}"#,
    );
    assert!(matches!(&e, LlmError::InsufficientQuota(m) if m.starts_with("You exceeded")));
    assert_eq!(e.status(), Some(429));
    let e = status_error(
        429,
        br#"{"error":{"message":"Rate limit reached for gpt-4o-mini on requests per min (RPM): Limit 3, Used 3, Requested 1.","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#,
    );
    assert!(e.is_retryable());
    // Azure: code only, sometimes numeric-looking.
    let e = status_error(
        404,
        br#"{"error":{"code":"DeploymentNotFound","message":"The API deployment for this resource does not exist."}}"#,
    );
    assert!(
        matches!(&e, LlmError::Rejected { status: 404, code: Some(c), .. } if c == "DeploymentNotFound")
    );
    let e = status_error(
        400,
        br#"{"error":{"message":"The response was filtered due to the prompt triggering Azure OpenAI's content management policy.","type":null,"param":"prompt","code":"content_filter","status":400}}"#,
    );
    assert!(matches!(e, LlmError::ContentFiltered));
    let e = status_error(502, b"<html>bad gateway</html>");
    assert!(
        matches!(&e, LlmError::Unavailable { status: Some(502), message } if message == "<html>bad gateway</html>")
    );
    let long = format!(
        r#"{{"error":{{"message":"{}","type":"server_error"}}}}"#,
        "x".repeat(1000)
    );
    let e = status_error(500, long.as_bytes());
    assert!(matches!(&e, LlmError::Unavailable { message, .. } if message.chars().count() == 300));
}

fn completion(finish: &str, content: Value, refusal: Value) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini-2024-07-18",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content, "refusal": refusal},
                     "finish_reason": finish, "logprobs": null}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
    }))
    .expect("json")
}

#[test]
fn completions_read() {
    let ok =
        read_completion(&completion("stop", r#"{"a":1}"#.into(), Value::Null)).expect("an object");
    assert_eq!(ok.content, serde_json::json!({"a": 1}));
    assert_eq!(ok.model, "gpt-4o-mini-2024-07-18");
    assert_eq!(
        ok.usage,
        Usage {
            prompt_tokens: 10,
            completion_tokens: 5,
            total_tokens: 15
        }
    );
    assert_eq!(ok.finish_reason, "stop");
    assert!(matches!(
        read_completion(&completion("length", r#"{"a":"#.into(), Value::Null)),
        Err(LlmError::Truncated)
    ));
    assert!(matches!(
        read_completion(&completion("content_filter", Value::Null, Value::Null)),
        Err(LlmError::ContentFiltered)
    ));
    assert!(matches!(
        read_completion(&completion("stop", Value::Null, "I can't help with that.".into())),
        Err(LlmError::Refused(r)) if r == "I can't help with that."
    ));
    assert!(matches!(
        read_completion(&completion("stop", "[1,2]".into(), Value::Null)),
        Err(LlmError::Malformed(m)) if m == "content is a JSON array, not an object"
    ));
    assert!(matches!(
        read_completion(&completion("stop", "not json".into(), Value::Null)),
        Err(LlmError::Malformed(_))
    ));
    assert!(matches!(
        read_completion(br#"{"choices":[]}"#),
        Err(LlmError::Malformed(m)) if m == "no choices"
    ));
}

#[test]
fn body_is_the_documented_shape() {
    let schema = serde_json::json!({"type": "object", "properties": {}, "required": [], "additionalProperties": false});
    let request = StructuredRequest {
        system: "sys",
        user: "usr",
        schema_name: "meeting_minutes",
        schema: &schema,
        max_completion_tokens: 4000,
        temperature: Some(0.3),
    };
    let openai = ChatClient::new(
        Provider::OpenAi {
            base_url: Url::parse(crate::DEFAULT_OPENAI_BASE_URL).expect("url"),
            api_key: "k".into(),
            model: "gpt-4o-mini".into(),
        },
        reqwest::Client::new(),
    );
    let body: Value = serde_json::from_slice(&openai.body(&request).expect("body")).expect("json");
    assert_eq!(
        body,
        serde_json::json!({
            "model": "gpt-4o-mini",
            "messages": [{"role": "system", "content": "sys"}, {"role": "user", "content": "usr"}],
            "max_completion_tokens": 4000,
            "temperature": 0.3,
            "response_format": {"type": "json_schema", "json_schema": {"name": "meeting_minutes", "strict": true, "schema": schema}},
        })
    );
    assert!(!format!("{request:?}").contains("usr"));
}
