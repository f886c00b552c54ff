//! The realtime channel driven without a socket or a server: a connection's messages go in through a channel and
//! what the actor sends comes back through another (the connection loop is generic over its transport). A real
//! SQLite file, the shipped catalog and the scripted interviewer; no HTTP.

use std::{sync::Arc, time::Duration};

use prost::Message as _;
use tokio::sync::mpsc;

use super::{
    Observe, Options, Services, VoiceStage,
    connection::{self, CLOSE_MALFORMED, Incoming, MAX_STRIKES, Outgoing},
    hub::Hub,
    pb::{self, client_frame, server_frame::Kind},
};
use crate::{
    catalog::{self, RoundKind, SeedSource},
    db::{self, Db, sessions::Session, users},
    engine::{
        guard::Outcome,
        turns::{Rules, TurnEnd},
        wording::Ask,
    },
    llm::{Llm, scripted::Scripted},
    sandbox::pool::Pool,
    scoring::service::Scorer,
};

struct Quiet;

impl Observe for Quiet {
    fn voice(&self, _: VoiceStage, _: f64) {}
    fn piece(&self, _: Ask, _: Outcome) {}
    fn resumed(&self) {}
    fn turn_ended(&self, _: TurnEnd) {}
}

/// Services over a fresh database with the shipped catalog, and one candidate's interview of a single behavioral
/// round.
async fn interview(dir: &std::path::Path) -> (Arc<Services>, Session) {
    let db = Db::open(&dir.join("rehearse.db")).expect("db");
    let loaded = catalog::load(&SeedSource::Embedded).expect("seeds");
    db.call(move |c| db::catalog::import(c, &loaded.catalog, &loaded.fingerprint))
        .await
        .expect("import");
    let catalog = Arc::new(db.call(|c| db::catalog::load(c)).await.expect("catalog"));
    let user = db
        .call(|c| {
            let new = users::NewUser {
                email: "ada@example.com",
                name: "Ada",
                password_hash: "not used",
                role: None,
                signup_credits: 10,
                signup_ip: None,
            };
            users::create(c, &new, crate::clock::now_ms())
        })
        .await
        .expect("user");
    let users::Created::Ok(user) = user else {
        panic!("the account exists already")
    };
    let (company, role, round) = catalog
        .companies
        .iter()
        .flat_map(|c| c.roles.iter().map(move |r| (c, r)))
        .find_map(|(c, r)| {
            let i = r
                .rounds
                .iter()
                .position(|x| x.kind == RoundKind::Behavioral)?;
            Some((c.id.clone(), r.id.clone(), i))
        })
        .expect("a behavioral round");
    let session =
        crate::sessions::create(&db, &catalog, user.id, &company, &role, Some(&[round]), &[])
            .await
            .expect("interview");
    let llm: Arc<dyn Llm> = Arc::new(Scripted);
    let scorer = Scorer {
        db: db.clone(),
        catalog: catalog.clone(),
        judge: llm.clone(),
        with_llm: false,
        embed: None,
        ready: Arc::new(|_: &str| {}),
    };
    let services = Services {
        db,
        catalog,
        llm,
        stt: None,
        tts: None,
        vad: None,
        sandbox: Pool::new(dir.join("runtimes")),
        intents: None,
        scorer,
        observe: Arc::new(Quiet),
        options: Options {
            interview_idle: Duration::from_secs(60),
            silence_prompt: Duration::from_secs(60),
            turn_rules: Rules::DEFAULT,
            stt_name: "none".into(),
            llm_name: "scripted".into(),
            tts_name: "none".into(),
        },
        hub: Arc::new(Hub::default()),
        activity: Default::default(),
    };
    (Arc::new(services), session)
}

/// A client: what it sends goes to the connection; what the connection sends comes back.
struct Client {
    to_server: mpsc::UnboundedSender<Incoming>,
    from_server: mpsc::UnboundedReceiver<Outgoing>,
    seq: u64,
}

/// A client connected to `session`'s interview: the connection loop runs over two channels.
fn connect(services: &Arc<Services>, session: &Session) -> Client {
    let (to_server, server_rx) = mpsc::unbounded_channel::<Incoming>();
    let (server_tx, from_server) = mpsc::unbounded_channel::<Outgoing>();
    let sink = Box::pin(futures_util::sink::unfold(
        server_tx,
        |tx, out: Outgoing| async move {
            tx.send(out).map_err(|_| "the client is gone")?;
            Ok::<_, &str>(tx)
        },
    ));
    let stream = Box::pin(futures_util::stream::unfold(server_rx, |mut rx| async {
        rx.recv().await.map(|m| (m, rx))
    }));
    tokio::spawn(connection::run(
        services.clone(),
        session.clone(),
        sink,
        stream,
    ));
    Client {
        to_server,
        from_server,
        seq: 0,
    }
}

impl Client {
    fn send(&mut self, kind: client_frame::Kind) {
        self.seq += 1;
        let frame = pb::ClientFrame {
            seq: self.seq,
            kind: Some(kind),
        };
        let _ = self.to_server.send(Incoming::Binary(frame.encode_to_vec()));
    }

    /// The next message, decoded when it is a frame; `Err(code)` when the server closed.
    async fn next(&mut self) -> Result<Kind, u16> {
        let out = tokio::time::timeout(Duration::from_secs(10), self.from_server.recv())
            .await
            .expect("the server answers within 10 s")
            .expect("the connection is open");
        match out {
            Outgoing::Binary(b) => Ok(pb::ServerFrame::decode(b.as_slice())
                .expect("a ServerFrame")
                .kind
                .expect("with a kind")),
            Outgoing::Close { code, .. } => Err(code),
        }
    }

    /// Frames until one that `want` picks; panics on a close.
    async fn until<T>(&mut self, mut want: impl FnMut(&Kind) -> Option<T>) -> T {
        loop {
            let kind = self.next().await.expect("not closed");
            if let Some(t) = want(&kind) {
                return t;
            }
        }
    }
}

fn hello() -> client_frame::Kind {
    client_frame::Kind::Hello(pb::Hello {
        client_version: "test".into(),
        last_event_id: 0,
        want_audio: false,
        playback_sample_rate: 0,
    })
}

#[tokio::test]
async fn a_typed_answer_is_acknowledged_stored_and_answered_by_the_interviewer() {
    let dir = tempfile::tempdir().unwrap();
    let (services, session) = interview(dir.path()).await;
    let mut client = connect(&services, &session);
    client.send(hello());
    let state = client
        .until(|k| match k {
            Kind::SessionState(s) => Some(s.clone()),
            _ => None,
        })
        .await;
    assert_eq!(state.session_id, session.id);
    assert!(!state.stt_available && !state.tts_available);
    // The interviewer opens the round with a question, finished before anything is asked of the candidate.
    client
        .until(|k| matches!(k, Kind::InterviewerText(t) if t.done).then_some(()))
        .await;

    let answer = "I led the migration of our payments service to a new queue, wrote the design, and we cut \
                  failed charges by a third over two months.";
    client.send(client_frame::Kind::TextAnswer(pb::TextAnswer {
        answer_id: "a1".into(),
        text: answer.into(),
    }));
    let acked = client
        .until(|k| match k {
            Kind::Ack(a) => Some(a.clone()),
            _ => None,
        })
        .await;
    assert_eq!(acked.answer_id, "a1");
    let reply = client
        .until(|k| match k {
            Kind::Transcript(t) if t.is_final && t.speaker == pb::Speaker::Interviewer as i32 => {
                Some(t.text.clone())
            }
            _ => None,
        })
        .await;
    assert!(!reply.trim().is_empty());
    let id = session.id.clone();
    let turns = services
        .db
        .call(move |c| db::live::turns(c, &id))
        .await
        .unwrap();
    assert!(
        turns
            .iter()
            .any(|t| t.speaker == "candidate" && t.text == answer),
        "the answer is stored: {turns:?}"
    );
    assert!(turns.iter().filter(|t| t.speaker == "interviewer").count() >= 2);
}

#[tokio::test]
async fn a_first_frame_that_is_not_hello_is_refused_and_closed() {
    let dir = tempfile::tempdir().unwrap();
    let (services, session) = interview(dir.path()).await;
    let mut client = connect(&services, &session);
    client.send(client_frame::Kind::Ping(pb::Ping {
        nonce: 1,
        client_time_ms: 1,
    }));
    match client.next().await {
        Ok(Kind::Error(e)) => assert_eq!(e.code, "out_of_order"),
        other => panic!("expected an error frame, got {other:?}"),
    }
    assert_eq!(client.next().await.err(), Some(CLOSE_MALFORMED));
}

#[tokio::test]
async fn bad_frames_get_one_error_each_until_the_connection_is_closed() {
    let dir = tempfile::tempdir().unwrap();
    let (services, session) = interview(dir.path()).await;
    let mut client = connect(&services, &session);
    client.send(hello());
    client
        .until(|k| matches!(k, Kind::SessionState(_)).then_some(()))
        .await;
    for _ in 0..MAX_STRIKES {
        let _ = client.to_server.send(Incoming::Text);
    }
    let mut errors = 0;
    let code = loop {
        match client.next().await {
            Ok(Kind::Error(e)) if e.code == "malformed_frame" => errors += 1,
            Ok(_) => {}
            Err(code) => break code,
        }
    };
    assert_eq!(code, CLOSE_MALFORMED);
    assert_eq!(errors, MAX_STRIKES);
}
