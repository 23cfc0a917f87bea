//! A horizontal bar chart drawn as SVG: one labelled bar a row, its value written beside it.

use leptos::prelude::*;

use maud::{Markup, html};

/// One bar.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub label: String,
    /// Palette slot (`c0`..`c7` in the style sheet).
    pub color: usize,
    pub value: f64,
    /// The value as written beside the bar.
    pub text: String,
}

const WIDTH: f64 = 600.0;
const ROW: f64 = 30.0;
const LABEL: f64 = 120.0;
/// Room right of the longest bar for its value.
const VALUE: f64 = 110.0;

/// How long each bar is: the longest fills the room, none is negative.
pub fn lengths(bars: &[Bar]) -> Vec<f64> {
    let max = bars.iter().map(|b| b.value).fold(0.0, f64::max);
    let room = WIDTH - LABEL - VALUE;
    bars.iter()
        .map(|b| {
            if max > 0.0 {
                (b.value.max(0.0) / max * room).round()
            } else {
                0.0
            }
        })
        .collect()
}

/// The chart as SVG markup; the label given to screen readers lists every figure, since the
/// drawing is one image to them. Every value in it is escaped, in attributes too (`maud`).
pub fn draw(title: &str, testid: &str, bars: &[Bar]) -> Markup {
    let figures: Vec<String> = bars
        .iter()
        .map(|b| format!("{} {}", b.label, b.text))
        .collect();
    html! {
        svg viewBox={ "0 0 " (WIDTH) " " (bars.len().max(1) as f64 * ROW) } role="img"
            aria-label={ (title) ": " (figures.join(", ")) } {
            title { (title) }
            @for (i, (b, len)) in bars.iter().zip(lengths(bars)).enumerate() {
                @let y = i as f64 * ROW;
                g class={ "c" (b.color % 8) } {
                    text class="label" x="0" y=(y + 19.0) { (b.label) }
                    rect x=(LABEL) y=(y + 5.0) width=(len) height=(ROW - 10.0) rx="3"
                        data-testid={ (testid) "-bar-" (b.label) } data-value=(b.value) {}
                    text class="value" x=(LABEL + len + 6.0) y=(y + 19.0) { (b.text) }
                }
            }
        }
    }
}

#[component]
pub fn BarChart(
    /// What the chart shows, for screen readers and as its tooltip.
    #[prop(into)]
    title: String,
    /// Its test id; each bar gets `{testid}-bar-{label}`.
    #[prop(into)]
    testid: String,
    /// The bars, top to bottom.
    #[prop(into)]
    bars: Signal<Vec<Bar>>,
) -> impl IntoView {
    let markup = move || bars.with(|b| draw(&title, &testid, b).into_string());
    view! { <figure class="chart bars" inner_html=markup></figure> }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(value: f64) -> Bar {
        Bar {
            label: "b".into(),
            color: 0,
            value,
            text: value.to_string(),
        }
    }

    #[test]
    fn the_longest_bar_fills_the_room_and_the_others_are_in_proportion() {
        let room = WIDTH - LABEL - VALUE;
        assert_eq!(
            lengths(&[bar(4.0), bar(2.0), bar(0.0), bar(-1.0)]),
            vec![room, (room / 2.0).round(), 0.0, 0.0]
        );
        assert_eq!(lengths(&[bar(0.0)]), vec![0.0], "nothing yet: no bars");
    }

    #[test]
    fn each_bar_carries_its_value_and_the_label_lists_them_all() {
        let bars = [
            Bar {
                label: "paid".into(),
                color: 2,
                value: 3.0,
                text: "3".into(),
            },
            Bar {
                label: "rejected".into(),
                color: 3,
                value: 1.0,
                text: "1".into(),
            },
        ];
        let svg = draw("claims", "c", &bars).into_string();
        assert!(
            svg.contains(r#"aria-label="claims: paid 3, rejected 1""#),
            "{svg}"
        );
        assert!(
            svg.contains(r#"data-testid="c-bar-paid" data-value="3""#),
            "{svg}"
        );
        assert!(svg.contains(r#"viewBox="0 0 600 60""#), "{svg}");
    }
}
