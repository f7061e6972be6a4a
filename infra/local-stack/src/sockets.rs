//! The WebSocket side of the local stack (not built yet: the live-transcription issue adds it).
//!
//! In AWS an API Gateway WebSocket API invokes the socket handler functions (`$connect`,
//! `$disconnect`, `$default`) with `ApiGatewayWebsocketProxyRequest` events, and pushes
//! messages back through the API Gateway Management API. Here this module will accept the
//! upgrade on the same port (`/ws/meetings/{meeting_id}/`), turn each frame into the event the
//! deployed handler takes, and stand in for the Management API's `PostToConnection`, so the
//! handlers run unchanged (docs/adding-a-function.md, "A socket handler or the bridge").
