//! Live transcription on the bridge (issue 19): the sessions this task owns ([`session`]), the
//! engine they stream to ([`engine`]), the push to listeners ([`fanout`]) and the private
//! relay API the socket handlers, the meetings function and other tasks call
//! ([`meetin_live`], served by [`internal`]).
//!
//! Which task owns a session is in DynamoDB ([`meetin_aws::LiveRoutes`]). A chunk for a
//! session this task does not run is either for a session another task owns (answered 409
//! with its URL), or, when the relay names the owner as unreachable or the owner's address is
//! this task's own (the task there before was replaced), taken over: this task becomes the
//! owner and resumes from the session's checkpoint.

pub mod engine;
pub mod fanout;
pub mod internal;
pub mod session;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use meetin_aws::{ConnectionStore, LiveRoutes, Task};
use meetin_data::live_sessions;
use meetin_vocab::LiveSessionStatus;
use sqlx::PgPool;
use uuid::Uuid;

use self::engine::Engine;
use self::fanout::{Fanout, LocalSockets};
use self::session::{Command, SessionDeps, SessionHandle};
use meetin_live::reach::Reach;

/// The live side of one bridge task.
#[derive(Debug)]
pub struct Live {
    /// This task (a fresh id per start) and its private URL.
    pub task: Task,
    pub pool: PgPool,
    pub routes: LiveRoutes,
    pub connections: ConnectionStore,
    /// `None`: no engine is configured; starts are refused.
    pub engine: Option<Engine>,
    pub reach: Reach,
    /// Where a stopped session's post-meeting copilot run is queued (`COPILOT_QUEUE_URL`).
    pub copilot: Option<meetin_aws::JobQueue<meetin_messages::jobs::RunCopilot>>,
    /// The legacy sockets this task holds.
    pub local: Arc<LocalSockets>,
    sessions: Mutex<HashMap<Uuid, SessionHandle>>,
    /// One takeover at a time on this task.
    taking_over: tokio::sync::Mutex<()>,
}

/// Why a session could not be started or resumed here: the status and the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: u16,
    pub message: String,
}

/// `error` message when no engine can take the session.
pub const NO_ENGINE: &str = "No live transcription engine is available.";

/// `error` message when the engine refused the stream.
pub const ENGINE_UNREACHABLE: &str = "The transcription service could not be reached.";

impl Live {
    pub fn new(
        task: Task,
        pool: PgPool,
        routes: LiveRoutes,
        connections: ConnectionStore,
        engine: Option<Engine>,
        reach: Reach,
        local: Arc<LocalSockets>,
    ) -> Self {
        Self {
            task,
            pool,
            routes,
            connections,
            engine,
            reach,
            copilot: None,
            local,
            sessions: Mutex::new(HashMap::new()),
            taking_over: tokio::sync::Mutex::new(()),
        }
    }

    fn sessions(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, SessionHandle>> {
        self.sessions.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The running session `id`, if this task serves it.
    pub fn session(&self, id: Uuid) -> Option<SessionHandle> {
        let handle = self.sessions().get(&id).cloned()?;
        if handle.commands.is_closed() {
            self.sessions().remove(&id);
            return None;
        }
        Some(handle)
    }

    /// How many sessions this task serves.
    pub fn session_count(&self) -> usize {
        self.sessions().len()
    }

    /// Opens `session`'s stream here and records this task as its owner; with `checkpoint`,
    /// resumes it (a takeover).
    pub async fn open(
        &self,
        session: Uuid,
        checkpoint: Option<meetin_aws::Checkpoint>,
    ) -> Result<SessionHandle, Refusal> {
        self.open_as(session, checkpoint, false).await
    }

    /// [`Live::open`]; `taken_over`: this task takes the session over from a dead one.
    async fn open_as(
        &self,
        session: Uuid,
        checkpoint: Option<meetin_aws::Checkpoint>,
        taken_over: bool,
    ) -> Result<SessionHandle, Refusal> {
        if let Some(handle) = self.session(session) {
            return Ok(handle);
        }
        let Some(engine) = self.engine.clone() else {
            return Err(Refusal {
                status: 503,
                message: NO_ENGINE.to_owned(),
            });
        };
        let row = live_sessions::for_bridge(&self.pool, session)
            .await
            .map_err(internal)?
            .filter(|row| row.status == LiveSessionStatus::Active)
            .ok_or_else(|| Refusal {
                status: 404,
                message: meetin_messages::socket::NO_ACTIVE_SESSION.to_owned(),
            })?;
        if !taken_over
            && !self
                .routes
                .claim(row.meeting_id, row.id, &self.task)
                .await
                .map_err(internal)?
        {
            return Err(Refusal {
                status: 409,
                message: "The session is served by another task.".to_owned(),
            });
        }
        if !taken_over {
            live_sessions::set_provider(&self.pool, row.id, engine.provider())
                .await
                .map_err(internal)?;
        }
        let engine_name = engine.provider();
        let resuming = taken_over;
        let deps = SessionDeps {
            pool: self.pool.clone(),
            routes: self.routes.clone(),
            engine,
            task_id: self.task.id.clone(),
            copilot: self.copilot.clone(),
            fanout: Fanout::start(
                self.reach.clone(),
                row.meeting_id,
                row.organization_id,
                self.pool.clone(),
            ),
        };
        let handle = session::start(deps, row, checkpoint, taken_over).await.map_err(|error| {
            tracing::warn!(session = %session, error = %error, "opening the engine stream failed");
            Refusal {
                status: 503,
                message: ENGINE_UNREACHABLE.to_owned(),
            }
        })?;
        self.sessions().insert(session, handle.clone());
        tracing::info!(%session, meeting = %handle.meeting, engine = engine_name, resumed = resuming, "live session opened");
        Ok(handle)
    }

    /// Takes `session` of `meeting` over from the task `dead`, unless another task did
    /// first: the handle here, or the URL of the task that owns it now.
    pub async fn take_over(
        &self,
        meeting: Uuid,
        session: Uuid,
        dead: &str,
    ) -> Result<Result<SessionHandle, String>, Refusal> {
        let _one = self.taking_over.lock().await;
        if let Some(handle) = self.session(session) {
            return Ok(Ok(handle));
        }
        let route = self
            .routes
            .take_over(meeting, session, dead, &self.task)
            .await
            .map_err(internal)?
            .ok_or_else(|| Refusal {
                status: 404,
                message: meetin_messages::socket::NO_ACTIVE_SESSION.to_owned(),
            })?;
        if route.owner.id != self.task.id {
            return Ok(Err(route.owner.url));
        }
        tracing::info!(%session, from = dead, "taking the session over");
        let handle = self
            .open_as(session, route.checkpoint.clone(), true)
            .await?;
        Ok(Ok(handle))
    }

    /// Ends every session here at once, as a killed task would: no flush, no release, no
    /// word to listeners. Failure injection for the fault tests and the benchmark; a real
    /// task that dies leaves the same state behind.
    pub fn crash(&self) {
        for (_, handle) in self.sessions().drain() {
            handle.task.abort();
        }
    }

    /// Stops `session` if this task serves it (flushing its last finals); whether it did.
    pub async fn stop(&self, session: Uuid) -> bool {
        // Kept in the map until done: audio still in flight reaches the stopping session.
        let Some(handle) = self.session(session) else {
            return false;
        };
        let (reply, done) = tokio::sync::oneshot::channel();
        if handle.commands.send(Command::Stop { reply }).await.is_err() {
            self.sessions().remove(&session);
            return false;
        }
        let _ = done.await;
        self.sessions().remove(&session);
        tracing::info!(%session, "live session stopped");
        true
    }
}

fn internal(error: impl std::fmt::Display) -> Refusal {
    tracing::error!(error = %error, "live session failure");
    Refusal {
        status: 500,
        message: meetin_messages::socket::PROCESSING_FAILED.to_owned(),
    }
}

/// Shared by the modules here.
pub type SharedLive = Arc<Live>;

/// The port of the private relay API (`INTERNAL_PORT`, default 8081): apart from the public
/// port, so the public load balancer never reaches it.
pub const DEFAULT_INTERNAL_PORT: u16 = 8081;

/// Builds the live side from the settings read through `lookup`: the engine (Deepgram with
/// `DEEPGRAM_API_KEY` or `DEEPGRAM_SECRET_ID`, at `DEEPGRAM_LIVE_URL`, else
/// `DEEPGRAM_BASE_URL`, else Deepgram's host; without a key the embedded Whisper engine when
/// its model is at `WHISPER_MODEL_PATH` or the default cache path, loaded at the first
/// session; else none), this task's private URL
/// (`BRIDGE_TASK_URL`, else the task's private IPv4 from ECS's task metadata endpoint, else
/// `http://127.0.0.1:{INTERNAL_PORT}`), and the WebSocket API's
/// callback URL (`WEBSOCKET_CALLBACK_URL`; without it API Gateway listeners are not pushed
/// to), and the copilot queue a stopped session's post-meeting run goes to
/// (`COPILOT_QUEUE_URL`, optional).
pub async fn load(
    service: &meetin_service::ServiceContext,
    lookup: meetin_core::settings::Lookup<'_>,
    sdk: &meetin_aws::aws_config::SdkConfig,
    engine: Option<Engine>,
) -> anyhow::Result<Live> {
    use meetin_core::Setting;
    let engine = match engine {
        Some(engine) => Some(engine),
        None => match meetin_core::DeepgramSettings::from_lookup(lookup) {
            Ok(deepgram) => {
                let secrets = meetin_aws::aws_sdk_secretsmanager::Client::new(sdk);
                let key = meetin_aws::secrets::deepgram_api_key(&secrets, &deepgram.key).await?;
                let base = lookup("DEEPGRAM_LIVE_URL")
                    .filter(|v| !v.trim().is_empty())
                    .or(deepgram.base_url)
                    .unwrap_or_else(|| meetin_deepgram::live::DEFAULT_LIVE_BASE_URL.to_owned());
                let base = url::Url::parse(base.trim())
                    .map_err(|e| anyhow::anyhow!("DEEPGRAM_LIVE_URL is not a URL: {e}"))?;
                Some(Engine::Deepgram(meetin_deepgram::live::LiveClient::new(
                    base, key,
                )))
            }
            // No key: the embedded Whisper engine when its model is there.
            Err(_) => meetin_whisper::model_path(lookup)
                .filter(|path| path.is_file())
                .zip(meetin_whisper::multilingual_model_path(lookup))
                .map(|(english, multilingual)| {
                    let threads = meetin_core::WhisperThreads::from_lookup(lookup)
                        .ok()
                        .and_then(|t| t.0)
                        .map(usize::from);
                    Engine::Whisper(Arc::new(engine::KeylessWhisper::new(
                        english,
                        multilingual,
                        threads,
                    )))
                }),
        },
    };
    let internal_port = lookup("INTERNAL_PORT")
        .and_then(|p| p.trim().parse::<u16>().ok())
        .unwrap_or(DEFAULT_INTERNAL_PORT);
    let task_url = match lookup("BRIDGE_TASK_URL").filter(|v| !v.trim().is_empty()) {
        Some(url) => url.trim().trim_end_matches('/').to_owned(),
        // On Fargate: the task's private address, from ECS's task metadata.
        None => crate::task_address::from_ecs_metadata(&reqwest::Client::new(), internal_port)
            .await?
            .unwrap_or_else(|| format!("http://127.0.0.1:{internal_port}")),
    };
    let task = Task {
        id: Uuid::new_v4().to_string(),
        url: task_url.clone(),
    };
    let client = service.ephemeral.client().clone();
    let table = service.ephemeral.table().to_owned();
    let connections = ConnectionStore::new(client.clone(), table.clone());
    let pusher = meetin_core::WebSocketCallbackUrl::from_lookup(lookup)
        .ok()
        .map(|url| meetin_aws::push::Pusher::new(sdk, &url.0));
    let local = Arc::new(LocalSockets::default());
    let reach = Reach {
        task_url: Some(task_url),
        connections: connections.clone(),
        pusher,
        relay: meetin_live::RelayClient::new(),
        local: Some(local.delivery()),
        close_local: Some(local.closer()),
    };
    let mut live = Live::new(
        task,
        service.pool.clone(),
        LiveRoutes::new(client, table),
        connections,
        engine,
        reach,
        local,
    );
    live.copilot = meetin_core::CopilotQueueUrl::optional(lookup)
        .map(|url| meetin_aws::JobQueue::new(meetin_aws::aws_sdk_sqs::Client::new(sdk), url.0));
    Ok(live)
}
