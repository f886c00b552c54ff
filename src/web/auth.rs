//! Who is asking, and whether they may change anything.
//!
//! [`authenticate`] runs before every page and API handler: it resolves the `rh_session` cookie to a signed-in
//! user (one query), and refuses any state-changing request (POST, PUT, PATCH, DELETE) whose CSRF token does not
//! match. Signed-in users' token lives with their login session in the database (synchronizer token); anonymous
//! visitors get an `rh_csrf` cookie, signed by this server, whose value forms must echo (signed double submit),
//! which protects sign-up and login.
//! Pages embed the token in forms and in `<meta name="csrf-token">`; API clients send `X-CSRF-Token`, and can
//! fetch one from `GET /api/v1/auth/csrf`.

use axum::{
    body::Body,
    extract::{ConnectInfo, FromRequestParts, OriginalUri, Request, State},
    http::{HeaderMap, HeaderValue, Method, header, request::Parts},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};

use super::error::AppError;
use crate::{
    accounts::{service::ClientMeta, tokens},
    db::{self, credits, users::User},
    web::AppState,
};

pub const SESSION_COOKIE: &str = "rh_session";
pub const CSRF_COOKIE: &str = "rh_csrf";
pub const CSRF_HEADER: &str = "x-csrf-token";
pub const CSRF_FIELD: &str = "csrf";

/// The person behind a request, available to every handler as an extractor.
#[derive(Debug, Clone, Default)]
pub struct Viewer {
    pub user: Option<User>,
    /// The user's credit balance (0 when anonymous).
    pub credits: i64,
    /// The hash of the login session's token, to end this login or keep it.
    pub login_id: Option<String>,
    /// The token this viewer's forms and API calls must carry.
    pub csrf: String,
    pub meta: ClientMeta,
}

pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// A `Set-Cookie` value. `max_age: Some(0)` deletes the cookie.
pub fn set_cookie(name: &str, value: &str, max_age_s: Option<i64>, same_site: &str) -> HeaderValue {
    let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite={same_site}");
    if let Some(age) = max_age_s {
        c.push_str(&format!("; Max-Age={age}"));
    }
    HeaderValue::from_str(&c).expect("cookie values are URL-safe")
}

/// Over HTTPS every cookie is `Secure`, so a browser never sends it over plain HTTP. Done here, once, for all.
fn mark_cookies_secure(headers: &mut HeaderMap) {
    let cookies: Vec<HeaderValue> = headers
        .get_all(header::SET_COOKIE)
        .iter()
        .cloned()
        .collect();
    headers.remove(header::SET_COOKIE);
    for c in cookies {
        let text = c.to_str().unwrap_or_default();
        let secure = if text.contains("; Secure") {
            text.to_string()
        } else {
            format!("{text}; Secure")
        };
        headers.append(
            header::SET_COOKIE,
            HeaderValue::from_str(&secure).unwrap_or(c),
        );
    }
}

/// The cookie that signs a browser in.
pub fn login_cookie(token: &str) -> HeaderValue {
    set_cookie(
        SESSION_COOKIE,
        token,
        Some(crate::db::users::LOGIN_TTL_MS / 1000),
        "Lax",
    )
}

/// Ends the login behind the request's cookie, if any, and returns the cookie that forgets it.
pub async fn logout(state: &AppState, headers: &HeaderMap) -> Result<HeaderValue, AppError> {
    if let Some(token) = cookie(headers, SESSION_COOKIE) {
        crate::accounts::service::logout(state.db(), &token).await?;
        state.logins_ended();
    }
    Ok(set_cookie(SESSION_COOKIE, "", Some(0), "Lax"))
}

fn is_unsafe(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

fn client_meta(req: &Request) -> ClientMeta {
    let ip = req
        .extensions()
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map_or_else(|| "unknown".to_string(), |c| c.0.ip().to_string());
    let user_agent = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .chars()
        .take(300)
        .collect();
    ClientMeta { ip, user_agent }
}

pub async fn authenticate(State(state): State<AppState>, req: Request, next: Next) -> Response {
    match authenticate_inner(&state, req, next).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn authenticate_inner(
    state: &AppState,
    mut req: Request,
    next: Next,
) -> Result<Response, AppError> {
    let mut viewer = Viewer {
        meta: client_meta(&req),
        ..Viewer::default()
    };
    if let Some(token) = cookie(req.headers(), SESSION_COOKIE) {
        let hash = tokens::sha256_hex(&token);
        let found = state
            .db()
            .call(move |c| {
                let Some((user, login)) = db::users::login(c, &hash, db::now_ms())? else {
                    return Ok(None);
                };
                let balance = credits::balance(c, user.id)?;
                Ok(Some((user, login, balance)))
            })
            .await?;
        if let Some((user, login, balance)) = found {
            viewer.user = Some(user);
            viewer.credits = balance;
            viewer.login_id = Some(login.id);
            viewer.csrf = login.csrf;
        }
    }
    let mut new_csrf_cookie = None;
    if viewer.user.is_none() {
        viewer.csrf = match cookie(req.headers(), CSRF_COOKIE) {
            Some(c) if state.signing_key().verify_anonymous_csrf(&c) => c,
            _ => {
                let fresh = state.signing_key().anonymous_csrf();
                new_csrf_cookie = Some(fresh.clone());
                fresh
            }
        };
    }
    if is_unsafe(req.method()) {
        let (offered, rebuilt) = offered_csrf(req).await?;
        req = rebuilt;
        // A cookie minted on this very request proves nothing: the browser never had it.
        let ok = new_csrf_cookie.is_none()
            && offered.is_some_and(|t| tokens::constant_time_eq(&t, &viewer.csrf));
        if !ok {
            return Err(AppError::Forbidden(
                "This request is missing its CSRF token or the token is wrong. Reload the page and try again \
                 (API clients: GET /api/v1/auth/csrf and send the token as X-CSRF-Token)."
                    .into(),
            ));
        }
    }
    req.extensions_mut().insert(viewer.clone());
    let mut resp = next.run(req).await;
    // The error middleware renders error pages with the right header from this.
    resp.extensions_mut().insert(viewer);
    if let Some(token) = new_csrf_cookie {
        resp.headers_mut().append(
            header::SET_COOKIE,
            set_cookie(CSRF_COOKIE, &token, None, "Strict"),
        );
    }
    if state.settings().tls.is_some() {
        mark_cookies_secure(resp.headers_mut());
    }
    Ok(resp)
}

/// The CSRF token a request offers: the header, or the `csrf` field of a form body (the body is put back).
async fn offered_csrf(req: Request) -> Result<(Option<String>, Request), AppError> {
    if let Some(v) = req.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok()) {
        let v = v.to_string();
        return Ok((Some(v), req));
    }
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Ok((None, req));
    }
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20).await.map_err(|_| {
        AppError::Rejected(
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            "The form is too large.".into(),
        )
    })?;
    let token = form_urlencoded::parse(&bytes)
        .find(|(k, _)| k == CSRF_FIELD)
        .map(|(_, v)| v.into_owned());
    Ok((token, Request::from_parts(parts, Body::from(bytes))))
}

impl<S: Send + Sync> FromRequestParts<S> for Viewer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<Viewer>()
            .cloned()
            .unwrap_or_default())
    }
}

/// A signed-in user. Anonymous API calls get 401; anonymous page visits are sent to the login page and back.
#[derive(Debug, Clone)]
pub struct SignedIn(pub User, pub Viewer);

impl<S: Send + Sync> FromRequestParts<S> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let viewer = parts
            .extensions
            .get::<Viewer>()
            .cloned()
            .unwrap_or_default();
        // Nested routers see their path without the prefix; the original tells API calls from pages.
        let uri = parts
            .extensions
            .get::<OriginalUri>()
            .map_or(&parts.uri, |o| &o.0);
        match viewer.user.clone() {
            Some(user) => Ok(SignedIn(user, viewer)),
            None if uri.path().starts_with("/api/") => {
                Err(AppError::Unauthorized("Log in first.".into()).into_response())
            }
            None => {
                let next = uri.path_and_query().map_or("/", |p| p.as_str());
                let target = format!(
                    "/login?next={}",
                    form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
                );
                Err(Redirect::to(&target).into_response())
            }
        }
    }
}

/// An instructor or admin.
#[derive(Debug, Clone)]
pub struct Staff(pub User, pub Viewer);

impl<S: Send + Sync> FromRequestParts<S> for Staff {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let SignedIn(user, viewer) = SignedIn::from_request_parts(parts, state).await?;
        if user.role.is_staff() {
            Ok(Staff(user, viewer))
        } else {
            Err(
                AppError::Forbidden("Only instructors and admins can do this.".into())
                    .into_response(),
            )
        }
    }
}

/// A path to return to after logging in: only local paths, so a link cannot send someone elsewhere. Browsers
/// drop tabs and line breaks from a URL (so "/\t/evil.example" becomes "//evil.example", another host) and a
/// header cannot hold them, so a path is visible ASCII only: no whitespace, no control characters, no backslash,
/// and not "//" at its start.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && n.len() <= 2048
                && n.bytes().all(|b| b.is_ascii_graphic() && b != b'\\') =>
        {
            n.to_string()
        }
        _ => "/interview-prep".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; rh_session=tok; b=2"),
        );
        assert_eq!(cookie(&h, "rh_session").as_deref(), Some("tok"));
        assert_eq!(cookie(&h, "missing"), None);
    }

    #[test]
    fn only_local_paths_are_followed_after_login() {
        assert_eq!(
            safe_next(Some("/interview-prep/amazon")),
            "/interview-prep/amazon"
        );
        for evil in [
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "javascript:alert(1)",
            // Found by the outside test: a tab (or a line break) that the browser drops, leaving "//".
            "/\t/evil.example/x",
            "/\n/evil.example/x",
            "/\r\nSet-Cookie: a=b",
            "/ /evil.example",
            "/\u{0}/evil.example",
            "/caf\u{e9}",
        ] {
            assert_eq!(safe_next(Some(evil)), "/interview-prep", "{evil}");
        }
        assert_eq!(safe_next(None), "/interview-prep");
    }
}
