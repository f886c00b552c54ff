//! Helpers shared by the integration tests: a fresh app on a temporary data directory, and one-shot requests.

use axum::{
    Router,
    body::Body,
    http::{HeaderMap, Method, Request, StatusCode},
};
use http_body_util::BodyExt;
use rehearse::{app::AppState, config::Settings};
use tempfile::TempDir;
use tower::ServiceExt;

pub struct TestApp {
    pub state: AppState,
    pub router: Router,
    // Keeps the data directory (and its database) alive for the test's lifetime.
    pub _dir: TempDir,
}

/// `$VAR`, else `~/.cache/rehearse/NAME`: where the check script installs what the tests share.
fn shared_dir(var: &str, name: &str) -> std::path::PathBuf {
    std::env::var_os(var)
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(std::env::var_os("HOME").expect("HOME is set"))
                .join(".cache/rehearse")
                .join(name)
        })
}

/// Where the check script installs the sandbox's runtimes.
pub fn runtimes_dir() -> std::path::PathBuf {
    shared_dir("REHEARSE_RUNTIMES_DIR", "runtimes")
}

/// Tests that keep the CPU busy for seconds (the local models, the sandbox's time and memory limits) take turns:
/// run side by side on a 2-core machine they slow each other past the sandbox's limits.
pub fn exclusive_cpu() -> std::sync::MutexGuard<'static, ()> {
    static CPU: std::sync::Mutex<()> = std::sync::Mutex::new(());
    CPU.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Where the check script installs the `tiny` model set.
pub fn models_dir() -> std::path::PathBuf {
    shared_dir("REHEARSE_MODELS_DIR", "models")
}

/// The path of a model from the `tiny` set, or a panic that says how to install it.
pub fn tiny_model(name: &str, role: rehearse::models::Purpose) -> std::path::PathBuf {
    rehearse::models::Manifest::builtin()
        .locate(&models_dir(), name, role)
        .unwrap_or_else(|e| panic!("{e:#} (scripts/check.sh installs the tiny set)"))
}

/// The onnxruntime library the tiny set installs.
pub fn onnxruntime() -> std::path::PathBuf {
    tiny_model("onnxruntime", rehearse::models::Purpose::Runtime)
}

/// The tiny set's piper voice, loaded.
pub fn tiny_voice() -> rehearse::voice::tts::piper::Piper {
    rehearse::voice::tts::piper::Piper::load(
        &tiny_model("piper-joe", rehearse::models::Purpose::Tts),
        &onnxruntime(),
    )
    .expect("the tiny set's voice loads")
}

pub async fn app() -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::for_data_dir(dir.path());
    settings.runtimes_dir = runtimes_dir();
    let state = AppState::open(settings).await.unwrap();
    let router = rehearse::app::router(state.clone());
    TestApp {
        state,
        router,
        _dir: dir,
    }
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

pub async fn send(router: &Router, req: Request<Body>) -> Reply {
    let resp = router.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

pub async fn get(router: &Router, path: &str) -> Reply {
    send(
        router,
        Request::builder().uri(path).body(Body::empty()).unwrap(),
    )
    .await
}

pub async fn request(
    router: &Router,
    method: Method,
    path: &str,
    content_type: &str,
    body: Vec<u8>,
) -> Reply {
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", content_type)
        .header("content-length", body.len())
        .body(Body::from(body))
        .unwrap();
    send(router, req).await
}

/// A browser-like client over the router: keeps cookies and the CSRF token, and sends it on every request.
/// Usable from many tasks at once.
pub struct Client {
    router: Router,
    cookies: std::sync::Mutex<std::collections::BTreeMap<String, String>>,
    csrf: std::sync::Mutex<String>,
}

pub const PASSWORD: &str = "correct horse battery";

impl Client {
    /// A new anonymous client with a CSRF token.
    pub async fn new(router: &Router) -> Client {
        let c = Client {
            router: router.clone(),
            cookies: Default::default(),
            csrf: Default::default(),
        };
        let r = c.send(Method::GET, "/api/v1/auth/csrf", None).await;
        *c.csrf.lock().unwrap() = r.json()["csrf_token"].as_str().unwrap().to_string();
        c
    }

    /// Signs up `email` through the API and returns the signed-in client.
    pub async fn signup(router: &Router, email: &str) -> Client {
        let c = Client::new(router).await;
        let r = c
            .send(
                Method::POST,
                "/api/v1/auth/signup",
                Some(serde_json::json!({"email": email, "password": PASSWORD})),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        c
    }

    pub fn csrf(&self) -> String {
        self.csrf.lock().unwrap().clone()
    }

    pub fn cookie_header_for_tests(&self) -> String {
        self.cookie_header()
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .lock()
            .unwrap()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn absorb(&self, reply: &Reply) {
        for v in reply.headers.get_all("set-cookie") {
            let kv = v.to_str().unwrap().split(';').next().unwrap();
            let (k, v) = kv.split_once('=').unwrap();
            let mut jar = self.cookies.lock().unwrap();
            if v.is_empty() {
                jar.remove(k)
            } else {
                jar.insert(k.into(), v.into())
            };
        }
        if let Some(t) = reply.headers.get("x-csrf-token") {
            *self.csrf.lock().unwrap() = t.to_str().unwrap().to_string();
        }
    }

    pub async fn send(&self, method: Method, path: &str, json: Option<serde_json::Value>) -> Reply {
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header("cookie", self.cookie_header());
        req = req.header("x-csrf-token", self.csrf());
        let body = match json {
            Some(v) => {
                req = req.header("content-type", "application/json");
                Body::from(v.to_string())
            }
            None => Body::empty(),
        };
        let reply = send(&self.router, req.body(body).unwrap()).await;
        self.absorb(&reply);
        reply
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(Method::GET, path, None).await
    }

    /// Posts a form the way a browser does, the CSRF token in a hidden field.
    pub async fn form(&self, path: &str, fields: &[(&str, &str)]) -> Reply {
        let mut body: Vec<(String, String)> = fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        body.push(("csrf".into(), self.csrf()));
        let encoded = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(body)
            .finish();
        let req = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header("cookie", self.cookie_header())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(encoded))
            .unwrap();
        let reply = send(&self.router, req).await;
        self.absorb(&reply);
        // A signed-in page carries the login's CSRF token in its meta tag.
        reply
    }

    /// Reads the CSRF token from a page this client fetched (after a form login, for example).
    pub async fn refresh_csrf_from_page(&self) {
        let page = self.get("/profile").await;
        let marker = "name=\"csrf-token\" content=\"";
        if let Some(i) = page.body.find(marker) {
            let rest = &page.body[i + marker.len()..];
            *self.csrf.lock().unwrap() = rest[..rest.find('"').unwrap()].to_string();
        }
    }
}

/// Runs a Node script of the repository (`path` from its root) with `args`; its standard output, after asserting
/// that it succeeded.
pub fn node(path: &str, args: &[&str]) -> String {
    let out = std::process::Command::new("node")
        .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path))
        .args(args)
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}
