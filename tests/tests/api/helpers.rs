//! The test harness: the local stack's app (exactly the deployed routers) against the real
//! PostgreSQL test database and the AWS emulator, configured from infra/local/env.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use meetin_core::{AwsSettings, CorsOrigins, Setting};
use meetin_data::{PgPool, PoolSettings};
use meetin_http::{AppContext, Deps};
use meetin_test_support::fake_deepgram::FakeDeepgram;
use serde_json::{Value, json};
use tokio::sync::OnceCell;
use tower::ServiceExt;
use uuid::Uuid;

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// infra/local/env, with the process environment taking precedence, except that the tests'
/// table, bucket and queues are their own: the local stack's `meetin-local-*` names become
/// `meetin-test-*` (other names are kept), so a `make dev` running beside `make test` never
/// takes the tests' jobs, nor they its.
pub fn settings() -> HashMap<String, String> {
    let mut s = meetin_test_support::local_settings(&repo_root()).expect("infra/local/env");
    for name in [
        "EPHEMERAL_TABLE",
        "RECORDINGS_BUCKET",
        "TRANSCRIPTION_QUEUE_NAME",
        "MINUTES_QUEUE_NAME",
    ] {
        if let Some(value) = s.get_mut(name) {
            *value = value.replacen("meetin-local-", "meetin-test-", 1);
        }
    }
    s
}

/// The settings the tests run with (the test database instead of the dev one), and the
/// test database's URL.
pub fn test_config() -> (HashMap<String, String>, String) {
    let mut s = settings();
    let db = s
        .get("TEST_DATABASE_URL")
        .cloned()
        .expect("TEST_DATABASE_URL");
    s.insert("DATABASE_URL".into(), db.clone());
    (s, db)
}

static PROVISIONED: OnceCell<()> = OnceCell::const_new();

pub struct TestApp {
    /// What API Gateway serves: every function's router.
    pub app: Router,
    /// What the API's public host serves (CloudFront in AWS): `app`, with the upload path
    /// going to the Fargate service's streaming ingress.
    pub public: Router,
    pub ctx: AppContext,
    /// The Fargate service's state behind `public` (its live side serves the relay API in the
    /// live tests).
    pub bridge: live_bridge::Bridge,
    /// The recordings bucket and transcription queue the app uses.
    pub uploads: meetings::Uploads,
    pub pool: PgPool,
    /// The settings the app was built from (with the queue's URL).
    pub settings: HashMap<String, String>,
}

pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl std::fmt::Debug for TestResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}",
            self.status,
            self.text.chars().take(500).collect::<String>()
        )
    }
}

/// A registered user with its tokens and the organization registration created.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: Uuid,
    pub email: String,
    pub username: String,
    pub access: String,
    pub refresh: String,
    pub org_id: Uuid,
}

/// A random address in 198.18.0.0/15 (reserved for benchmarking): each request gets its
/// own rate-limit bucket unless a test picks one.
pub fn random_ip() -> IpAddr {
    let b: [u8; 3] = rand_bytes();
    IpAddr::V4(Ipv4Addr::new(198, 18 + (b[0] & 1), b[1], b[2].max(1)))
}

fn rand_bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    let id = Uuid::new_v4();
    for (i, b) in out.iter_mut().enumerate() {
        *b = id.as_bytes()[i % 16];
    }
    out
}

pub fn unique(prefix: &str) -> String {
    format!("{prefix}{}", &Uuid::new_v4().simple().to_string()[..12])
}

pub const PASSWORD: &str = "plum-harbor-71-lantern";

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(&[]).await
    }

    /// An app whose settings are the tests' with `overrides` (name, value) applied, e.g. a
    /// short `REFRESH_REUSE_GRACE_SECONDS`.
    pub async fn spawn_with(overrides: &[(&str, &str)]) -> Self {
        let (mut settings, db) = test_config();
        for (name, value) in overrides {
            settings.insert((*name).to_owned(), (*value).to_owned());
        }
        let lookup = |name: &str| settings.get(name).cloned();
        PROVISIONED
            .get_or_try_init(|| async {
                meetin_test_support::provision_local(&lookup, &db)
                    .await
                    .map(|_| ())
            })
            .await
            .expect("provisioning the test database and the AWS emulator (is `make setup` done?)");
        let pool_settings = PoolSettings {
            max_connections: 5,
            ..PoolSettings::LOCAL
        };
        // The queues' URLs from their names, as the local stack resolves them.
        let sdk = meetin_aws::sdk_config(&AwsSettings::from_lookup(&lookup).expect("AWS")).await;
        let queue_urls = meetin_test_support::job_queue_urls(&lookup, &sdk)
            .await
            .expect("the job queues");
        let mut settings = settings.clone();
        settings.extend(queue_urls);
        let lookup = |name: &str| settings.get(name).cloned();
        let ctx = AppContext::load_with(&lookup, &sdk, pool_settings)
            .await
            .expect("the test context");
        let cors = CorsOrigins::from_lookup(&lookup).expect("CORS_ALLOWED_ORIGINS");
        let app = meetin_local::app(&ctx, &lookup, &sdk, &cors)
            .await
            .expect("the stack's functions");
        let uploads = meetings::Uploads::load(&lookup, &sdk).expect("the upload clients");
        let bridge = live_bridge::Bridge::with_context(ctx.service.clone(), &lookup, &sdk, None)
            .await
            .expect("the ingress");
        Self {
            public: meetin_local::public_app(app.clone(), bridge.clone()),
            bridge,
            app,
            pool: ctx.pool.clone(),
            uploads,
            ctx,
            settings,
        }
    }

    /// The recording worker of this app's database, bucket and queue, talking to `deepgram`
    /// with `key`; retries are made visible again at once (no backoff).
    pub async fn worker(&self, deepgram: &FakeDeepgram, key: &str) -> recording_worker::Worker {
        self.worker_with(deepgram, key, &[]).await
    }

    /// [`TestApp::worker`] with settings `overrides` (e.g. `TRANSCRIPTION_WINDOW_SECONDS`).
    pub async fn worker_with(
        &self,
        deepgram: &FakeDeepgram,
        key: &str,
        overrides: &[(&str, &str)],
    ) -> recording_worker::Worker {
        let mut settings = self.settings.clone();
        settings.insert("DEEPGRAM_API_KEY".into(), key.to_owned());
        settings.insert("DEEPGRAM_BASE_URL".into(), deepgram.base_url.to_string());
        for (name, value) in overrides {
            settings.insert((*name).to_owned(), (*value).to_owned());
        }
        let lookup = |name: &str| settings.get(name).cloned();
        let pool_settings = PoolSettings {
            max_connections: 3,
            ..PoolSettings::LOCAL
        };
        let mut worker = recording_worker::Worker::load(&lookup, pool_settings)
            .await
            .expect("the recording worker");
        worker.retries.backoff = std::time::Duration::ZERO;
        worker
    }

    /// The recording worker of this app's database, bucket and queue with the embedded Whisper
    /// engine (`TRANSCRIPTION_PROVIDER=whisper`, the provisioned model), plus `overrides`;
    /// retries are made visible again at once.
    pub async fn whisper_worker(&self, overrides: &[(&str, &str)]) -> recording_worker::Worker {
        let mut settings = self.settings.clone();
        settings.insert("TRANSCRIPTION_PROVIDER".into(), "whisper".into());
        settings.insert(
            "WHISPER_MODEL_PATH".into(),
            meetin_test_support::speech::whisper_model()
                .to_string_lossy()
                .into_owned(),
        );
        settings.insert(
            "WHISPER_MULTILINGUAL_MODEL_PATH".into(),
            meetin_test_support::speech::whisper_multilingual_model()
                .to_string_lossy()
                .into_owned(),
        );
        for (name, value) in overrides {
            settings.insert((*name).to_owned(), (*value).to_owned());
        }
        let lookup = |name: &str| settings.get(name).cloned();
        let pool_settings = PoolSettings {
            max_connections: 3,
            ..PoolSettings::LOCAL
        };
        let mut worker = recording_worker::Worker::load(&lookup, pool_settings)
            .await
            .expect("the recording worker with Whisper");
        worker.retries.backoff = std::time::Duration::ZERO;
        worker
    }

    /// The minutes worker of this app's database and minutes queue, with `overrides` (e.g. an
    /// `OPENAI_API_KEY` and `OPENAI_BASE_URL` of a fake; none: the offline engine); retries
    /// are made visible again at once.
    pub async fn minutes_worker(&self, overrides: &[(&str, &str)]) -> minutes_worker::Worker {
        let mut settings = self.settings.clone();
        for key in ["OPENAI_API_KEY", "AZURE_OPENAI_ENDPOINT", "LLM_SECRET_ID"] {
            settings.remove(key);
        }
        for (name, value) in overrides {
            settings.insert((*name).to_owned(), (*value).to_owned());
        }
        let lookup = |name: &str| settings.get(name).cloned();
        let pool_settings = PoolSettings {
            max_connections: 3,
            ..PoolSettings::LOCAL
        };
        let mut worker = minutes_worker::Worker::load(&lookup, pool_settings)
            .await
            .expect("the minutes worker");
        worker.retries.backoff = std::time::Duration::ZERO;
        worker
    }

    pub async fn send(&self, request: Request<Body>, ip: IpAddr) -> TestResponse {
        Self::send_to(&self.app, request, ip).await
    }

    /// [`TestApp::send`] to the public host ([`TestApp::public`]).
    pub async fn send_public(&self, request: Request<Body>, ip: IpAddr) -> TestResponse {
        Self::send_to(&self.public, request, ip).await
    }

    async fn send_to(app: &Router, mut request: Request<Body>, ip: IpAddr) -> TestResponse {
        request
            .extensions_mut()
            .insert(ConnectInfo(SocketAddr::new(ip, 40000)));
        let response = app.clone().oneshot(request).await.expect("infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        TestResponse {
            status,
            headers,
            body,
            text,
        }
    }

    pub fn request(
        method: Method,
        path: &str,
        body: Option<&Value>,
        token: Option<&str>,
    ) -> Request<Body> {
        let mut builder = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, "testserver");
        if let Some(token) = token {
            builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let body = match body {
            Some(json) => {
                builder = builder.header(header::CONTENT_TYPE, "application/json");
                Body::from(json.to_string())
            }
            None => Body::empty(),
        };
        builder.body(body).expect("request")
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        token: Option<&str>,
    ) -> TestResponse {
        self.send(
            Self::request(method, path, body.as_ref(), token),
            random_ip(),
        )
        .await
    }

    pub async fn get(&self, path: &str, token: &str) -> TestResponse {
        self.call(Method::GET, path, None, Some(token)).await
    }

    pub async fn post(&self, path: &str, body: Value, token: Option<&str>) -> TestResponse {
        self.call(Method::POST, path, Some(body), token).await
    }

    pub async fn put(&self, path: &str, body: Value, token: &str) -> TestResponse {
        self.call(Method::PUT, path, Some(body), Some(token)).await
    }

    pub async fn patch(&self, path: &str, body: Value, token: &str) -> TestResponse {
        self.call(Method::PATCH, path, Some(body), Some(token))
            .await
    }

    pub async fn delete(&self, path: &str, token: &str) -> TestResponse {
        self.call(Method::DELETE, path, None, Some(token)).await
    }

    pub async fn register(&self) -> Account {
        let username = unique("user");
        let email = format!("{username}@example.com");
        let r = self
            .post(
                "/api/auth/register/",
                json!({"email": email, "username": username, "password": PASSWORD, "first_name": "Test", "last_name": "User"}),
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
        let id: Uuid = r.body["user"]["id"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .expect("user id");
        let org_id: Uuid = sqlx::query_scalar("SELECT id FROM organizations WHERE owner_id = $1")
            .bind(id)
            .fetch_one(&self.pool)
            .await
            .expect("registration organization");
        Account {
            id,
            email,
            username,
            access: r.body["tokens"]["access"].as_str().expect("access").into(),
            refresh: r.body["tokens"]["refresh"]
                .as_str()
                .expect("refresh")
                .into(),
            org_id,
        }
    }

    /// Makes `member` a member of `org` with `role` through the API: `admin` invites them,
    /// they accept. Answers the membership id.
    pub async fn add_member(
        &self,
        admin: &Account,
        org: Uuid,
        member: &Account,
        role: &str,
    ) -> Uuid {
        let invitation = self
            .invite(admin, org, json!({"email": member.email, "role": role}))
            .await;
        let r = self
            .post(
                &format!("/api/auth/invitations/{invitation}/accept/"),
                json!({}),
                Some(&member.access),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
        r.body["id"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .expect("membership id")
    }

    /// `admin` invites whom `body` names to `org`; answers the invitation id.
    pub async fn invite(&self, admin: &Account, org: Uuid, body: Value) -> Uuid {
        let r = self
            .post(
                &format!("/api/auth/organizations/{org}/members/"),
                body,
                Some(&admin.access),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
        assert_eq!(r.body["state"], "pending", "{r:?}");
        r.body["id"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .expect("invitation id")
    }

    pub async fn membership_id(&self, org: Uuid, user: Uuid) -> Uuid {
        sqlx::query_scalar(
            "SELECT id FROM organization_members WHERE organization_id = $1 AND user_id = $2",
        )
        .bind(org)
        .bind(user)
        .fetch_one(&self.pool)
        .await
        .expect("membership")
    }

    pub async fn count(&self, sql: &'static str, id: Uuid) -> i64 {
        sqlx::query_scalar(sql)
            .bind(id)
            .fetch_one(&self.pool)
            .await
            .expect("count")
    }
}
