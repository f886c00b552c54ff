//! `GET /ws/sessions/{id}?token=...`: the realtime channel's WebSocket. The token (from `POST
//! /api/v1/sessions/{id}/realtime-token`) must be valid, unexpired, for this interview and made under a login that
//! has not ended, or the upgrade is refused with 401. After the upgrade, axum's socket is adapted to the
//! transport-free connection loop ([`crate::realtime::connection`]).

use axum::{
    extract::{
        Path, Query, State,
        ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade},
    },
    response::Response,
};
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;

use super::{AppState, error::AppError};
use crate::{
    accounts::tokens::Admitted,
    db::{self, sessions},
    realtime::{
        MAX_CLIENT_FRAME_BYTES,
        connection::{self, Incoming, Outgoing},
    },
};

#[derive(Debug, Deserialize)]
pub struct TokenQuery {
    pub token: Option<String>,
}

pub async fn upgrade(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<TokenQuery>,
    ws: WebSocketUpgrade,
) -> Result<Response, AppError> {
    let token = q
        .token
        .ok_or_else(|| AppError::Unauthorized("A realtime token is required.".into()))?;
    let admitted = state
        .signing_key()
        .verify_realtime(&token, &id, db::now_ms())
        .map_err(|e| AppError::Unauthorized(format!("The realtime token is not valid: {e}.")))?;
    let user_id = admitted.user_id;
    let (logins, session) = state
        .db()
        .call(move |c| {
            Ok((
                db::users::live_logins(c, user_id, db::now_ms())?,
                sessions::get(c, user_id, &id)?,
            ))
        })
        .await?;
    // A token outlives nothing: after a logout (or a password change, which ends other logins) it admits nobody.
    if !admitted.made_under_one_of(&logins) {
        return Err(AppError::Unauthorized(
            "The realtime token is not valid: its login has ended. Log in again.".into(),
        ));
    }
    let session = session.ok_or_else(|| AppError::from(crate::sessions::Error::NotFound))?;
    Ok(ws
        .max_message_size(MAX_CLIENT_FRAME_BYTES)
        .on_upgrade(move |socket| serve(state, session, admitted, socket)))
}

/// How often an open socket checks that its login still lives when nothing said logins ended (a login that
/// expired, or an account disabled).
const LOGIN_RECHECK: std::time::Duration = std::time::Duration::from_secs(60);

/// Resolves once the login the socket was opened under has ended: at once after a logout or a password change
/// ([`AppState::logins_ended`]), within [`LOGIN_RECHECK`] after it expired or the account was disabled.
async fn login_ended(state: AppState, admitted: Admitted) {
    let mut ended = state.on_logins_ended();
    loop {
        tokio::select! {
            changed = ended.changed() => {
                if changed.is_err() {
                    tokio::time::sleep(LOGIN_RECHECK).await;
                }
            }
            () = tokio::time::sleep(LOGIN_RECHECK) => {}
        }
        let user_id = admitted.user_id;
        let live = state
            .db()
            .call(move |c| db::users::live_logins(c, user_id, db::now_ms()))
            .await;
        // A database error leaves the socket open: it is checked again.
        if live.is_ok_and(|logins| !admitted.made_under_one_of(&logins)) {
            return;
        }
    }
}

/// Runs the connection loop over axum's socket, until the client leaves or its login ends.
async fn serve(state: AppState, session: sessions::Session, admitted: Admitted, socket: WebSocket) {
    let (sink, stream) = socket.split();
    let sink = Box::pin(sink.with(|out: Outgoing| async move {
        Ok::<_, axum::Error>(match out {
            Outgoing::Binary(bytes) => Message::Binary(bytes.into()),
            Outgoing::Close { code, reason } => Message::Close(Some(CloseFrame {
                code,
                reason: reason.into(),
            })),
        })
    }));
    let stream = stream.map(|msg| match msg {
        Ok(Message::Binary(b)) => Incoming::Binary(b.to_vec()),
        Ok(Message::Text(_)) => Incoming::Text,
        Ok(Message::Ping(_) | Message::Pong(_)) => Incoming::Ping,
        Ok(Message::Close(_)) | Err(_) => Incoming::Closed,
    });
    // A logout ends the interview's sockets of that login: the client is heard to leave.
    let stream = stream
        .take_until(Box::pin(login_ended(state.clone(), admitted)))
        .chain(futures_util::stream::iter([Incoming::Closed]));
    connection::run(state.realtime().clone(), session, sink, stream).await;
}
