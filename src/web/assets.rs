//! Static assets compiled into the binary (`static/`, and the Monaco editor's minified build from the npm package
//! `monaco-editor` under `/static/monaco/vs/`), served with a content hash as ETag so a browser revalidates cheaply.
//! The realtime schema module is generated from the proto at build time.

use axum::{
    extract::Path,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use rust_embed::RustEmbed;

use super::error::AppError;

#[derive(RustEmbed)]
#[folder = "static/"]
struct Static;

/// The Monaco editor (`npm ci` puts it in `node_modules`; the setup scripts run it before building).
#[derive(RustEmbed)]
#[folder = "node_modules/monaco-editor/min/vs/"]
struct Monaco;

/// Where the Monaco editor is served.
const MONACO_PREFIX: &str = "monaco/vs/";

/// `static/js/realtime-schema.js`: the proto schema as an ES module, from `build.rs`.
const SCHEMA_MODULE_PATH: &str = "js/realtime-schema.js";

pub async fn serve(Path(path): Path<String>, headers: HeaderMap) -> Result<Response, AppError> {
    let (bytes, etag, mime): (std::borrow::Cow<'static, [u8]>, String, String) =
        if path == SCHEMA_MODULE_PATH {
            let body = format!("export const schema = {};\n", crate::realtime::SCHEMA_JSON);
            let etag = format!("\"{}\"", env!("CARGO_PKG_VERSION"));
            (
                body.into_bytes().into(),
                etag,
                "text/javascript; charset=utf-8".into(),
            )
        } else {
            let file = match path.strip_prefix(MONACO_PREFIX) {
                Some(rest) => Monaco::get(rest),
                None => Static::get(&path),
            }
            .ok_or_else(|| AppError::NotFound(format!("No asset named {path}.")))?;
            let etag = format!("\"{}\"", hex(&file.metadata.sha256_hash()[..12]));
            let mime = mime_guess::from_path(&path).first_or_octet_stream();
            let mime = if mime.type_() == "text" || mime.subtype() == "javascript" {
                format!("{mime}; charset=utf-8")
            } else {
                mime.to_string()
            };
            (file.data, etag, mime)
        };
    let cache = HeaderValue::from_static("no-cache");
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        == Some(etag.as_str())
    {
        return Ok((
            StatusCode::NOT_MODIFIED,
            [
                (header::ETAG, etag),
                (header::CACHE_CONTROL, "no-cache".into()),
            ],
        )
            .into_response());
    }
    let mut resp = (
        [(header::CONTENT_TYPE, mime), (header::ETAG, etag)],
        bytes.into_owned(),
    )
        .into_response();
    resp.headers_mut().insert(header::CACHE_CONTROL, cache);
    Ok(resp)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
