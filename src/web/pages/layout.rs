//! The frame every page shares (head, header, footer) and small components used across pages.

use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::{
    catalog::{Company, RoundKind},
    engine::lifecycle::SessionState,
    web::auth::{CSRF_FIELD, Viewer},
};

/// A whole page. `scripts` are module scripts under `/static/js/`.
pub fn page(viewer: &Viewer, title: &str, scripts: &[&str], body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="csrf-token" content=(viewer.csrf);
                title { (title) " · Rehearse" }
                link rel="icon" href="/static/img/favicon.svg" type="image/svg+xml";
                link rel="stylesheet" href="/static/css/app.css";
                script type="module" src="/static/js/confirm.js" {}
                @for s in scripts {
                    script type="module" src={ "/static/js/" (s) } {}
                }
            }
            body {
                header.site-header {
                    div.wrap.header-inner {
                        a.brand href="/" {
                            (logo())
                            span { "Rehearse" }
                        }
                        nav.site-nav aria-label="Main" {
                            a href="/interview-prep" { "Companies" }
                            @if let Some(user) = &viewer.user {
                                a href="/interview-prep/history" { "History" }
                                @if user.role.is_staff() { a href="/admin" { "Admin" } }
                                a.credits href="/profile" title="Your credits" {
                                    span.credits-count { (viewer.credits) } span.credits-label { " credits" }
                                }
                                a.nav-user href="/profile" { (user.display_name()) }
                                form.inline method="post" action="/logout" {
                                    (csrf_field(viewer))
                                    button.button.button-small.button-ghost type="submit" { "Sign out" }
                                }
                            } @else {
                                a href="/login" { "Sign in" }
                                a.button.button-small href="/signup" { "Sign up" }
                            }
                        }
                    }
                }
                main.wrap { (body) }
                footer.site-footer {
                    div.wrap {
                        p {
                            "Rehearse " (env!("CARGO_PKG_VERSION"))
                            " · Self-hosted: your answers, voice and code stay on this server unless its operator \
                             switches on a model elsewhere, and then every interview page says so."
                        }
                    }
                }
            }
        }
    }
}

fn logo() -> Markup {
    PreEscaped(
        r##"<svg class="logo" viewBox="0 0 32 32" aria-hidden="true"><rect width="32" height="32" rx="8" fill="#4f46e5"/><path d="M9 22V10h6.2c2.7 0 4.3 1.5 4.3 3.8 0 1.7-.9 2.9-2.4 3.4L20 22h-3.2l-2.6-4.4H12V22H9zm3-6.9h3c1.1 0 1.7-.5 1.7-1.4s-.6-1.4-1.7-1.4h-3v2.8z" fill="#fff"/><circle cx="24" cy="21" r="2" fill="#a5b4fc"/></svg>"##
            .to_string(),
    )
}

/// A company's initial on its brand colour.
pub fn monogram(c: &Company) -> Markup {
    let initial: String = c.name.chars().take(1).collect();
    html! {
        span.monogram style={ "--brand:" (c.brand_color) } aria-hidden="true" { (initial) }
    }
}

pub fn kind_badge(kind: RoundKind) -> Markup {
    html! { span class={ "badge kind-" (kind.as_str()) } { (kind.label()) } }
}

pub fn minutes(total: u32) -> String {
    match (total / 60, total % 60) {
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m} min"),
    }
}

/// Breadcrumbs: (label, link) pairs; the last one is the current page.
pub fn crumbs(items: &[(&str, &str)]) -> Markup {
    html! {
        nav.crumbs aria-label="Breadcrumb" {
            @for (i, (label, href)) in items.iter().enumerate() {
                @if i + 1 < items.len() {
                    a href=(href) { (label) }
                    span.sep aria-hidden="true" { "/" }
                } @else {
                    span aria-current="page" { (label) }
                }
            }
        }
    }
}

pub fn csrf_field(viewer: &Viewer) -> Markup {
    html! { input type="hidden" name=(CSRF_FIELD) value=(viewer.csrf); }
}

/// A message above a form: an error (red) or a success (green).
pub fn notice(error: Option<&str>, ok: Option<&str>) -> Markup {
    html! {
        @if let Some(e) = error { p.notice.notice-error role="alert" { (e) } }
        @if let Some(m) = ok { p.notice.notice-ok role="status" { (m) } }
    }
}

pub fn state_badge(state: SessionState) -> Markup {
    html! { span class={ "badge state-" (state.as_str().to_lowercase()) } { (state.label()) } }
}

/// Unix milliseconds as `2026-11-22 14:05 UTC`.
pub fn datetime(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60
    )
}

/// Previous and next links for a paginated list (`page` counts from 1).
pub fn pager(base: &str, page: i64, per_page: i64, total: i64) -> Markup {
    let pages = ((total + per_page - 1) / per_page).max(1);
    html! {
        @if pages > 1 {
            nav.pager aria-label="Pages" {
                @if page > 1 { a.button.button-ghost.button-small href={ (base) "?page=" (page - 1) } { "Newer" } }
                span.muted { "Page " (page) " of " (pages) }
                @if page < pages { a.button.button-ghost.button-small href={ (base) "?page=" (page + 1) } { "Older" } }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes_are_utc_calendar_dates() {
        assert_eq!(datetime(0), "1970-01-01 00:00 UTC");
        assert_eq!(datetime(1_763_798_400_000), "2025-11-22 08:00 UTC");
        assert_eq!(datetime(951_782_400_000), "2000-02-29 00:00 UTC");
    }
}
