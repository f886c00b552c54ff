//! Charts drawn on the server as inline SVG: nothing to load, prints as it shows, readable without scripts. Each
//! chart carries a title and a text alternative for screen readers.

use maud::{Markup, html};

/// A 1-5 score as a fraction of the scale.
fn frac(score: f64) -> f64 {
    ((score - 1.0) / 4.0).clamp(0.0, 1.0)
}

/// The colour of a level: red at the bottom to green at the top.
pub fn level_colour(score: f64) -> &'static str {
    match score {
        s if s >= 4.5 => "#15803d",
        s if s >= 3.75 => "#16a34a",
        s if s >= 3.0 => "#ca8a04",
        s if s >= 2.25 => "#ea580c",
        _ => "#dc2626",
    }
}

/// Horizontal bars on the 1-5 scale, one per (label, score); `None` draws an empty, labelled track.
pub fn bars(title: &str, rows: &[(String, Option<f64>, String)]) -> Markup {
    let (label_w, bar_w, row_h) = (190.0, 300.0, 28.0);
    let width = label_w + bar_w + 70.0;
    let height = row_h * rows.len() as f64 + 30.0;
    let alt: Vec<String> = rows
        .iter()
        .map(|(l, s, note)| match s {
            Some(s) => format!("{l}: {s:.1} of 5"),
            None => format!("{l}: {note}"),
        })
        .collect();
    html! {
        svg.chart role="img" viewBox={ "0 0 " (width) " " (height) } width=(width) height=(height)
            aria-label={ (title) ". " (alt.join("; ")) } {
            title { (title) }
            @for i in 1..=5 {
                @let x = label_w + bar_w * frac(f64::from(i));
                line x1=(x) x2=(x) y1="0" y2=(height - 22.0) stroke="#e5e7eb" {}
                text x=(x) y=(height - 6.0) text-anchor="middle" font-size="11" fill="#6b7280" { (i) }
            }
            @for (i, (label, score, note)) in rows.iter().enumerate() {
                @let y = row_h * i as f64;
                text x=(label_w - 8.0) y=(y + 18.0) text-anchor="end" font-size="13" fill="#111827" { (crate::text::clip(label, 25)) }
                rect x=(label_w) y=(y + 6.0) width=(bar_w) height="16" rx="4" fill="#f3f4f6" {}
                @match score {
                    Some(s) => {
                        rect x=(label_w) y=(y + 6.0) width=(4.0_f64.max(bar_w * frac(*s))) height="16" rx="4" fill=(level_colour(*s)) {}
                        text x=(label_w + bar_w + 8.0) y=(y + 18.0) font-size="13" font-weight="600" fill="#111827" { (format!("{s:.1}")) }
                    }
                    None => {
                        text x=(label_w + 8.0) y=(y + 18.0) font-size="12" fill="#6b7280" { (note) }
                    }
                }
            }
        }
    }
}

/// A line on a chart: points are (x from 0 to 1, score).
pub struct Series {
    pub name: String,
    pub colour: &'static str,
    pub points: Vec<(f64, f64)>,
}

/// One line per series over time on the 1-5 scale.
pub fn lines(title: &str, series: &[Series], x_labels: (&str, &str)) -> Markup {
    let (w, h, left, top, bottom) = (640.0, 240.0, 36.0, 12.0, 46.0);
    let plot_w = w - left - 16.0;
    let plot_h = h - top - bottom;
    let x = |f: f64| left + plot_w * f;
    let y = |s: f64| top + plot_h * (1.0 - frac(s));
    let alt: Vec<String> = series
        .iter()
        .map(|l| {
            let scores: Vec<String> = l.points.iter().map(|(_, s)| format!("{s:.1}")).collect();
            format!("{}: {}", l.name, scores.join(", "))
        })
        .collect();
    html! {
        svg.chart role="img" viewBox={ "0 0 " (w) " " (h) } width=(w) height=(h) aria-label={ (title) ". " (alt.join("; ")) } {
            title { (title) }
            @for i in 1..=5 {
                @let yy = y(f64::from(i));
                line x1=(left) x2=(w - 16.0) y1=(yy) y2=(yy) stroke="#e5e7eb" {}
                text x=(left - 8.0) y=(yy + 4.0) text-anchor="end" font-size="11" fill="#6b7280" { (i) }
            }
            text x=(left) y=(h - bottom + 18.0) font-size="11" fill="#6b7280" { (x_labels.0) }
            text x=(w - 16.0) y=(h - bottom + 18.0) text-anchor="end" font-size="11" fill="#6b7280" { (x_labels.1) }
            @for Series { name, colour, points: pts } in series {
                @let path: Vec<String> = pts.iter().map(|(f, s)| format!("{:.1},{:.1}", x(*f), y(*s))).collect();
                @if pts.len() > 1 {
                    polyline points=(path.join(" ")) fill="none" stroke=(colour) stroke-width="2.5" {}
                }
                @for (f, s) in pts {
                    circle cx=(x(*f)) cy=(y(*s)) r="4" fill=(colour) { title { (name) ": " (format!("{s:.2}")) } }
                }
            }
            @for (i, Series { name, colour, .. }) in series.iter().enumerate() {
                @let lx = left + 150.0 * (i % 4) as f64;
                @let ly = h - 14.0 + 0.0 * (i / 4) as f64;
                rect x=(lx) y=(ly - 9.0) width="10" height="10" rx="2" fill=(*colour) {}
                text x=(lx + 14.0) y=(ly) font-size="12" fill="#111827" { (name) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_levels_and_say_what_they_show() {
        let svg = bars(
            "Round",
            &[
                ("Ownership".into(), Some(5.0), String::new()),
                ("Reflection".into(), None, "not enough evidence".into()),
            ],
        )
        .into_string();
        assert!(
            svg.contains(
                "aria-label=\"Round. Ownership: 5.0 of 5; Reflection: not enough evidence\""
            ),
            "{svg}"
        );
        assert!(
            svg.contains("width=\"300\" height=\"16\" rx=\"4\" fill=\"#15803d\""),
            "a 5 fills the track"
        );
        assert!(svg.contains("not enough evidence"));
    }

    #[test]
    fn lines_put_scores_on_the_scale() {
        let svg = lines(
            "Progress",
            &[Series {
                name: "Coding".into(),
                colour: "#4f46e5",
                points: vec![(0.0, 1.0), (1.0, 5.0)],
            }],
            ("a", "b"),
        )
        .into_string();
        assert!(svg.contains("points=\"36.0,194.0 624.0,12.0\""), "{svg}");
        assert!(svg.contains("Coding: 1.0, 5.0"));
    }
}
