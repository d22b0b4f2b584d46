//! The fake gateway: HELLO, IDENTIFY → READY + GUILD_CREATE, heartbeats, RESUME, dispatches.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;

use super::{events, lock, GatewayCommand, Outbound, ShardConn, Shared};

pub(super) async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    while let Ok((stream, _)) = listener.accept().await {
        tokio::spawn(connection(stream, shared.clone()));
    }
}

async fn connection(stream: TcpStream, shared: Arc<Shared>) {
    let Ok(ws) = tokio_tungstenite::accept_async(stream).await else {
        return;
    };
    let conn = shared.next_conn.fetch_add(1, Ordering::Relaxed);
    let (mut sink, mut source) = ws.split();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Outbound>();
    let hello = json!({"op": 10, "d": {"heartbeat_interval": shared.cfg.heartbeat_interval.as_millis() as u64}});
    if sink.send(Message::Text(hello.to_string())).await.is_err() {
        return;
    }
    // The session this connection serves, once IDENTIFY or RESUME succeeded.
    let mut session: Option<String> = None;
    loop {
        let out: Vec<Value> = tokio::select! {
            incoming = source.next() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    handle(&shared, conn, &text, &tx, &mut session)
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Binary(_) | Message::Frame(_))) => Vec::new(),
                _ => break,
            },
            outbound = rx.recv() => match outbound {
                Some(Outbound::Dispatch { t, d }) => match &session {
                    Some(s) => vec![dispatch(&shared, s, &t, d)],
                    None => Vec::new(),
                },
                Some(Outbound::Raw(v)) => vec![v],
                None => break,
            },
        };
        for v in out {
            if sink.send(Message::Text(v.to_string())).await.is_err() {
                lock(&shared.conns).remove(&conn);
                return;
            }
        }
    }
    lock(&shared.conns).remove(&conn);
}

fn dispatch(shared: &Shared, session: &str, t: &str, d: Value) -> Value {
    json!({"op": 0, "t": t, "s": shared.next_seq(session), "d": d})
}

/// Handles one payload from the shard; returns what to send back.
fn handle(
    shared: &Arc<Shared>,
    conn: u64,
    text: &str,
    tx: &tokio::sync::mpsc::UnboundedSender<Outbound>,
    session: &mut Option<String>,
) -> Vec<Value> {
    let Ok(v) = serde_json::from_str::<Value>(text) else {
        return Vec::new();
    };
    let op = v.get("op").and_then(Value::as_u64).unwrap_or(u64::MAX);
    let d = v.get("d").cloned().unwrap_or(Value::Null);
    shared.record_command(GatewayCommand {
        connection: conn,
        op,
        d: d.clone(),
        at: Instant::now(),
    });
    match op {
        1 => vec![json!({"op": 11})],
        2 => {
            let shard = d
                .get("shard")
                .and_then(Value::as_array)
                .and_then(|a| Some((a.first()?.as_u64()?, a.get(1)?.as_u64()?)))
                .unwrap_or((0, 1));
            let session_id = format!("fake-session-{conn}");
            lock(&shared.sessions).insert(session_id.clone(), (shard, 0));
            lock(&shared.conns).insert(
                conn,
                ShardConn {
                    shard,
                    session_id: session_id.clone(),
                    tx: tx.clone(),
                },
            );
            *session = Some(session_id.clone());
            let mine: Vec<_> = shared
                .cfg
                .guilds
                .iter()
                .filter(|g| (g.id >> 22) % shard.1.max(1) == shard.0)
                .collect();
            let ids: Vec<u64> = mine.iter().map(|g| g.id).collect();
            let ready = events::ready(
                shared.cfg.bot_user_id,
                shared.cfg.application_id,
                &session_id,
                &ids,
                shard,
                &shared.gateway_url,
            );
            let mut out = vec![dispatch(shared, &session_id, "READY", ready)];
            for g in mine {
                out.push(dispatch(
                    shared,
                    &session_id,
                    "GUILD_CREATE",
                    events::guild_create(g),
                ));
            }
            out
        }
        6 => {
            let wanted = d
                .get("session_id")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let known = lock(&shared.sessions).get(wanted).map(|(shard, _)| *shard);
            match known {
                Some(shard) => {
                    lock(&shared.conns).insert(
                        conn,
                        ShardConn {
                            shard,
                            session_id: wanted.to_owned(),
                            tx: tx.clone(),
                        },
                    );
                    *session = Some(wanted.to_owned());
                    vec![dispatch(shared, wanted, "RESUMED", json!({}))]
                }
                None => vec![json!({"op": 9, "d": false})],
            }
        }
        _ => Vec::new(),
    }
}
