//! The whole live path in this process, on free ports of 127.0.0.1, as `make dev` wires it
//! (and the API tests' `LiveStack`): the WebSocket API stand-in running the deployed
//! `live-socket` handler (`/ws`, `@connections`), the bridge's relay API on its own port, the
//! existing frontend's socket path served by the bridge (`/ws/meetings/{id}/live/`, through
//! `meetin_local::public_app`; `live-socket` behind the stand-in, but for the bulk meetings'
//! joins, [`super::join`]), the fake Deepgram live answering every audio frame at once,
//! PostgreSQL and the AWS emulator. Plus the people and meetings the parts need, made with
//! SQL and tokens minted with the app's own signing key (no argon2 registrations).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, ensure};
use axum::Router;
use http::StatusCode;
use live_bridge::live::engine::Engine;
use meetin_core::jwt::TokenType;
use meetin_data::PoolSettings;
use meetin_deepgram::live::LiveClient;
use meetin_live::{RelayClient, StartSession};
use meetin_service::{Deps, ServiceContext};
use meetin_test_support::fake_deepgram_live::FakeDeepgramLive;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use uuid::Uuid;

use super::join::Bulk;

/// The page origin the sockets present (one of `CORS_ALLOWED_ORIGINS`).
pub const ORIGIN: &str = "http://localhost:3000";

/// A client's socket.
pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The running stack; its servers stop when dropped.
pub struct Stack {
    /// Serving the bridge's Deepgram streams while it lives.
    _fake: FakeDeepgramLive,
    pub service: ServiceContext,
    /// Meetings whose listeners join without the emulator's transactions ([`Bulk`]).
    pub bulk: Bulk,
    /// The stack's port: the WebSocket API (`/ws`, `@connections`) and the bridge's public
    /// socket path.
    pub addr: SocketAddr,
    /// `http://127.0.0.1:<relay port>`.
    pub relay_url: String,
    pub relay: RelayClient,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Stack {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Stack {
    /// Starts everything with `settings` (the local ones with the benchmark's table).
    pub async fn start(settings: &HashMap<String, String>) -> anyhow::Result<Self> {
        let fake = FakeDeepgramLive::start().await?;
        fake.answer_every_frame(true);
        let public = TcpListener::bind("127.0.0.1:0").await?;
        let internal = TcpListener::bind("127.0.0.1:0").await?;
        let addr = public.local_addr()?;
        let relay_url = format!("http://{}", internal.local_addr()?);
        let callback = format!("http://{addr}");
        let mut settings = settings.clone();
        for (name, value) in [
            ("BRIDGE_URL", relay_url.as_str()),
            ("BRIDGE_TASK_URL", relay_url.as_str()),
            ("WEBSOCKET_CALLBACK_URL", callback.as_str()),
        ] {
            settings.insert(name.to_owned(), value.to_owned());
        }
        let lookup = |name: &str| settings.get(name).cloned();
        let database_url = settings
            .get("DATABASE_URL")
            .context("DATABASE_URL is not set")?;
        let sdk = meetin_test_support::provision_local(&lookup, database_url).await?;
        let pool = PoolSettings {
            max_connections: 10,
            ..PoolSettings::LOCAL
        };
        let service = ServiceContext::load_with(&lookup, &sdk, pool).await?;
        let engine = Engine::Deepgram(LiveClient::new(fake.base_url.clone(), fake.api_key.clone()));
        let bridge =
            live_bridge::Bridge::with_context(service.clone(), &lookup, &sdk, Some(engine)).await?;
        let sockets =
            live_socket::Sockets::with_context(service.clone(), &lookup, &sdk, &callback)?;
        // What `make dev` serves on its port: the bridge's paths (here only the socket's),
        // then the WebSocket API.
        let fallback = Router::new().fallback(|| async { StatusCode::NOT_FOUND });
        let bulk = Bulk::default();
        let socket_api = meetin_local::sockets::WebSocketApi::new(
            super::join::handler(sockets, service.clone(), bulk.clone()),
            meetin_local::sockets::SocketLimits::API_GATEWAY,
        );
        let served = meetin_local::public_app(fallback, bridge.clone()).merge(socket_api.routes());
        let mut tasks = vec![tokio::spawn(async move {
            if let Err(err) =
                meetin_local::http::serve(public, served, std::future::pending()).await
            {
                eprintln!("[bench] live: the stack's port stopped: {err}");
            }
        })];
        let relay = live_bridge::internal_service(&bridge);
        tasks.push(tokio::spawn(async move {
            let _ = live_bridge::server::serve(
                internal,
                live_bridge::server::http1(),
                relay,
                std::future::pending(),
                Duration::from_secs(1),
            )
            .await;
        }));
        Ok(Self {
            _fake: fake,
            service,
            bulk,
            addr,
            relay_url,
            relay: RelayClient::new(),
            tasks,
        })
    }

    /// Opens the API Gateway form of the socket: `/ws?meeting_id=&token=`.
    pub async fn gateway(&self, meeting: Uuid, token: &str) -> anyhow::Result<Socket> {
        connect(&format!(
            "ws://{}/ws?meeting_id={meeting}&token={token}",
            self.addr
        ))
        .await
    }

    /// Opens the existing frontend's socket, served by the bridge:
    /// `/ws/meetings/{id}/live/?token=`.
    pub async fn legacy(&self, meeting: Uuid, token: &str) -> anyhow::Result<Socket> {
        connect(&format!(
            "ws://{}/ws/meetings/{meeting}/live/?token={token}",
            self.addr
        ))
        .await
    }

    /// Starts a live session on `meeting` as `live/start/` does: the `active` row and its
    /// transcript, then the bridge opens its stream. The session's id.
    pub async fn start_session(&self, owner: Uuid, meeting: Uuid) -> anyhow::Result<Uuid> {
        start_session(
            &self.service.pool,
            &self.relay,
            &self.relay_url,
            owner,
            meeting,
        )
        .await
    }
}

/// A session on `meeting` started by `owner` on the bridge at `relay_url`.
pub async fn start_session(
    pool: &sqlx::PgPool,
    relay: &RelayClient,
    relay_url: &str,
    owner: Uuid,
    meeting: Uuid,
) -> anyhow::Result<Uuid> {
    let started =
        meetin_data::live_sessions::start(pool, owner, meeting, &serde_json::json!({}), "deepgram")
            .await
            .map_err(|e| anyhow::anyhow!("starting the session's row: {e:?}"))?;
    let session_id = started.session.id;
    relay
        .start(relay_url, &StartSession { session_id })
        .await
        .context("the bridge opening the session's stream")?;
    Ok(session_id)
}

async fn connect(url: &str) -> anyhow::Result<Socket> {
    let mut request = url.into_client_request()?;
    request.headers_mut().insert("origin", ORIGIN.parse()?);
    let (socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .with_context(|| format!("opening {}", url.split('?').next().unwrap_or(url)))?;
    Ok(socket)
}

/// A user of the benchmark's organization and its access token.
#[derive(Clone)]
pub struct Person {
    pub id: Uuid,
    pub token: String,
}

/// A throwaway organization: its admin, `members` more users, and meetings; deleted with
/// everything under it by [`Org::delete`].
pub struct Org {
    pub id: Uuid,
    pub owner: Person,
    pub members: Vec<Person>,
}

impl Org {
    /// The organization, its admin and `members` member users, made with two statements;
    /// their access tokens minted with `service`'s signing key.
    pub async fn create(
        service: &ServiceContext,
        what: &str,
        members: usize,
    ) -> anyhow::Result<Self> {
        let pool = &service.pool;
        let (owner, id) = crate::minutes::throwaway_org(pool, what).await?;
        let tag = &Uuid::new_v4().simple().to_string()[..12];
        let emails: Vec<String> = (0..members)
            .map(|i| format!("bench-{what}-{tag}-{i}@example.com"))
            .collect();
        let ids: Vec<Uuid> = sqlx::query_scalar(
            "WITH u AS (INSERT INTO users (email, username, password_hash) \
                        SELECT e, e, '!' FROM unnest($1::text[]) e RETURNING id) \
             INSERT INTO organization_members (organization_id, user_id, role) \
             SELECT $2, id, 'member' FROM u RETURNING user_id",
        )
        .bind(&emails)
        .bind(id)
        .fetch_all(pool)
        .await
        .context("inserting the members")?;
        ensure!(ids.len() == members, "inserted {} members", ids.len());
        let person = |id: Uuid| -> anyhow::Result<Person> {
            let issued = service
                .jwt
                .issue(TokenType::Access, id, None, chrono::Utc::now())?;
            Ok(Person {
                id,
                token: issued.token,
            })
        };
        Ok(Self {
            id,
            owner: person(owner)?,
            members: ids.into_iter().map(person).collect::<anyhow::Result<_>>()?,
        })
    }

    /// `n` meetings of the organization, created by its admin.
    pub async fn meetings(&self, pool: &sqlx::PgPool, n: usize) -> anyhow::Result<Vec<Uuid>> {
        let ids: Vec<Uuid> = sqlx::query_scalar(
            "INSERT INTO meetings (organization_id, created_by_id, title) \
             SELECT $1, $2, 'Bench live ' || g FROM generate_series(1, $3) g RETURNING id",
        )
        .bind(self.id)
        .bind(self.owner.id)
        .bind(i64::try_from(n)?)
        .fetch_all(pool)
        .await
        .context("inserting the meetings")?;
        Ok(ids)
    }

    /// Deletes the organization (its meetings, sessions, transcripts cascade) and its users.
    pub async fn delete(&self, pool: &sqlx::PgPool) {
        let users: Vec<Uuid> = std::iter::once(self.owner.id)
            .chain(self.members.iter().map(|m| m.id))
            .collect();
        let outcome = async {
            crate::minutes::delete_org(pool, self.owner.id, self.id).await?;
            sqlx::query("DELETE FROM users WHERE id = ANY($1)")
                .bind(&users)
                .execute(pool)
                .await?;
            anyhow::Ok(())
        }
        .await;
        if let Err(err) = outcome {
            eprintln!("[bench] live: cleaning up the database: {err:#}");
        }
    }
}
