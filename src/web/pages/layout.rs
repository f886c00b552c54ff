//! The frame every page shares (head, header, footer) and small components used across pages.

use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::catalog::{Company, RoundKind};

/// A whole page. `scripts` are module scripts under `/static/js/`.
pub fn page(title: &str, scripts: &[&str], body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Rehearse" }
                link rel="icon" href="/static/img/favicon.svg" type="image/svg+xml";
                link rel="stylesheet" href="/static/css/app.css";
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
                            a href="/interview-prep/history" { "History" }
                            a.button.button-small href="/login" { "Sign in" }
                        }
                    }
                }
                main.wrap { (body) }
                footer.site-footer {
                    div.wrap {
                        p {
                            "Rehearse " (env!("CARGO_PKG_VERSION"))
                            " · Runs on your own machine: your answers, voice and code stay here."
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
