//! A line chart drawn as SVG: one line per series over a time window, with its scale, and a
//! legend giving each series' current value as text. Small (a sparkline) without either.

use leptos::prelude::*;

use maud::{Markup, html};

/// One line.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    /// Palette slot (`c0`..`c7` in the style sheet), so a line keeps its colour.
    pub color: usize,
    /// (Unix milliseconds, value), oldest first.
    pub points: Vec<(i64, f64)>,
    /// What the legend gives as the current value (the last point, or an average).
    pub now: f64,
}

/// The drawing's size and its margins for the scale, in SVG units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Geometry {
    pub width: f64,
    pub height: f64,
    pub left: f64,
    pub bottom: f64,
}

const FULL: Geometry = Geometry {
    width: 600.0,
    height: 170.0,
    left: 52.0,
    bottom: 22.0,
};
const SPARK: Geometry = Geometry {
    width: 160.0,
    height: 36.0,
    left: 2.0,
    bottom: 2.0,
};
/// Room above the highest line and right of the newest point, for the markers.
const PAD: f64 = 5.0;

/// Where time and values land: from `start_ms` to `end_ms` across, 0 to `top` up.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Frame {
    pub start_ms: i64,
    pub end_ms: i64,
    pub top: f64,
}

impl Frame {
    /// The frame for these series: the last `window_ms` up to the newest point (all of them
    /// when 0), up to a round number at or above the highest value shown. None when empty.
    pub fn fit(series: &[Series], window_ms: i64) -> Option<Frame> {
        let end = series
            .iter()
            .filter_map(|s| s.points.last())
            .map(|p| p.0)
            .max()?;
        let start = if window_ms > 0 {
            end - window_ms
        } else {
            series
                .iter()
                .filter_map(|s| s.points.first())
                .map(|p| p.0)
                .min()?
        };
        let highest = series
            .iter()
            .flat_map(|s| s.points.iter().filter(|p| p.0 >= start).map(|p| p.1))
            .fold(0.0, f64::max);
        Some(Frame {
            start_ms: start,
            end_ms: end.max(start + 1),
            top: round_up(highest),
        })
    }

    /// The SVG coordinates of one point.
    pub fn place(&self, g: Geometry, (at_ms, value): (i64, f64)) -> (f64, f64) {
        let across = (at_ms - self.start_ms) as f64 / (self.end_ms - self.start_ms) as f64;
        let up = (value / self.top).clamp(0.0, 1.0);
        (
            g.left + across * (g.width - g.left - PAD),
            PAD + (1.0 - up) * (g.height - g.bottom - PAD),
        )
    }

    /// A `<polyline points>` value for the points inside the frame.
    pub fn polyline(&self, g: Geometry, points: &[(i64, f64)]) -> String {
        points
            .iter()
            .filter(|p| p.0 >= self.start_ms)
            .map(|&p| {
                let (x, y) = self.place(g, p);
                format!("{x:.1},{y:.1}")
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// The smallest 1, 2 or 5 times a power of ten at or above `max`; 1 when there is nothing.
pub fn round_up(max: f64) -> f64 {
    if max.is_nan() || max <= 0.0 {
        return 1.0;
    }
    // The power of ten at or below `max`, by steps rather than `log10` and `powf`, which
    // would bring their own code into the app.
    let mut power = 1.0;
    while power * 10.0 <= max {
        power *= 10.0;
    }
    while power > max {
        power /= 10.0;
    }
    [1.0, 2.0, 5.0]
        .into_iter()
        .map(|m| m * power)
        .find(|&step| step >= max * (1.0 - 1e-9))
        .unwrap_or(10.0 * power)
}

/// A value as the chart writes it.
pub fn number(value: f64, decimals: usize) -> String {
    format!("{value:.decimals$}")
}

/// How a chart is drawn, besides its data.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Look {
    pub window_ms: i64,
    pub unit: &'static str,
    pub decimals: usize,
    pub spark: bool,
}

/// The chart as SVG markup, followed by its legend as HTML (none when small). Drawn as a
/// template rather than as a view per element: it is redrawn whole each second anyway, and
/// the template costs the page a fraction of the code. Every value in it is escaped, in
/// attributes too (`maud`).
pub fn draw(title: &str, testid: &str, series: &[Series], look: Look) -> Markup {
    let g = if look.spark { SPARK } else { FULL };
    let frame = Frame::fit(series, look.window_ms);
    html! {
        svg viewBox={ "0 0 " (g.width) " " (g.height) } role="img" aria-label=(title) {
            title { (title) }
            @match frame {
                None if look.spark => {}
                None => {
                    text class="waiting" x=(g.width / 2.0) y=(g.height / 2.0) text-anchor="middle" {
                        "waiting for the first samples…"
                    }
                }
                Some(f) => {
                    @if !look.spark {
                        (scale(&f, g, look))
                    }
                    @for s in series {
                        @let last = s.points.last().copied().filter(|p| p.0 >= f.start_ms);
                        @let max = s.points.iter().map(|p| p.1).fold(0.0, f64::max);
                        g class={ "c" (s.color % 8) } {
                            polyline points=(f.polyline(g, &s.points))
                                data-testid={ (testid) "-line-" (s.name) }
                                data-points=(s.points.len())
                                data-latest=(last.map_or(0.0, |p| p.1))
                                data-max=(max) {}
                            @if let Some(p) = last {
                                @let (x, y) = f.place(g, p);
                                circle cx=(number(x, 1)) cy=(number(y, 1)) r=(if look.spark { 2.5 } else { 3.5 }) {}
                            }
                        }
                    }
                }
            }
        }
        @if !look.spark {
            ul class="legend" {
                @for s in series {
                    li class={ "c" (s.color % 8) } data-testid={ (testid) "-value-" (s.name) } data-value=(s.now) {
                        span class="swatch" aria-hidden="true" {}
                        (s.name) " "
                        strong { (number(s.now, look.decimals)) (look.unit) }
                    }
                }
            }
        }
    }
}

/// The scale of a full chart: the bottom line and two grid lines with their values, and the
/// time axis's ends.
fn scale(f: &Frame, g: Geometry, look: Look) -> Markup {
    let y = |v: f64| f.place(g, (f.start_ms, v)).1;
    let label = |v: f64| number(v, if f.top < 2.0 { look.decimals.max(1) } else { 0 });
    let secs = (f.end_ms - f.start_ms + 500) / 1000;
    html! {
        g class="scale" {
            @for (v, class) in [(0.0, ""), (f.top / 2.0, "grid"), (f.top, "grid")] {
                @let at = number(y(v), 1);
                line class=(class) x1=(g.left) x2=(g.width) y1=(at) y2=(at) {}
                text x=(g.left - 6.0) y=(number(y(v) + 4.0, 1)) text-anchor="end" { (label(v)) }
            }
            text x=(g.left) y=(g.height - 4.0) { (secs) " s ago" }
            text x=(g.width - PAD) y=(g.height - 4.0) text-anchor="end" { "now" }
        }
    }
}

#[component]
pub fn LineChart(
    /// What the chart shows, for screen readers and as its tooltip.
    #[prop(into)]
    title: String,
    /// Its test id; each line gets `{testid}-line-{name}` and each legend entry
    /// `{testid}-value-{name}`.
    #[prop(into)]
    testid: String,
    /// The lines.
    #[prop(into)]
    series: Signal<Vec<Series>>,
    /// How far back it looks, in milliseconds; 0 shows every point.
    #[prop(optional)]
    window_ms: i64,
    /// Written after each value, e.g. ` /s`.
    #[prop(optional)]
    unit: &'static str,
    /// Decimals of the values written out.
    #[prop(optional)]
    decimals: usize,
    /// Small, without scale or legend (the caller writes the value beside it).
    #[prop(optional)]
    spark: bool,
) -> impl IntoView {
    let look = Look {
        window_ms,
        unit,
        decimals,
        spark,
    };
    let points = move || series.with(|s| s.iter().map(|x| x.points.len()).max().unwrap_or(0));
    let id = testid.clone();
    let markup = move || series.with(|s| draw(&title, &id, s, look).into_string());
    view! {
        <figure class=if spark { "chart spark" } else { "chart" } data-testid=testid data-points=points inner_html=markup></figure>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(points: &[(i64, f64)]) -> Series {
        Series {
            name: "s".into(),
            color: 0,
            points: points.to_vec(),
            now: points.last().map_or(0.0, |p| p.1),
        }
    }

    #[test]
    fn the_scale_ends_at_a_round_number_at_or_above_the_highest_value() {
        assert_eq!(round_up(0.0), 1.0);
        assert_eq!(round_up(1.0), 1.0);
        assert_eq!(round_up(3.0), 5.0);
        assert_eq!(round_up(7.0), 10.0);
        assert_eq!(round_up(12.0), 20.0);
        assert_eq!(round_up(200.0), 200.0);
        assert!((round_up(0.3) - 0.5).abs() < 1e-12);
    }

    #[test]
    fn the_frame_covers_the_window_up_to_the_newest_point() {
        let s = [
            series(&[(0, 1.0), (60_000, 4.0)]),
            series(&[(120_000, 2.0)]),
        ];
        let frame = Frame::fit(&s, 120_000).unwrap();
        assert_eq!((frame.start_ms, frame.end_ms, frame.top), (0, 120_000, 5.0));
        // Without a window it fits the points.
        let frame = Frame::fit(&s[..1], 0).unwrap();
        assert_eq!((frame.start_ms, frame.end_ms), (0, 60_000));
        assert_eq!(Frame::fit(&[series(&[])], 120_000), None);
    }

    #[test]
    fn points_land_left_to_right_by_time_and_bottom_to_top_by_value() {
        let frame = Frame {
            start_ms: 0,
            end_ms: 100,
            top: 10.0,
        };
        let (x0, y0) = frame.place(FULL, (0, 0.0));
        let (x1, y1) = frame.place(FULL, (100, 10.0));
        assert_eq!((x0, y0), (FULL.left, FULL.height - FULL.bottom));
        assert_eq!((x1, y1), (FULL.width - PAD, PAD));
        // Points before the window are left out; the middle one is halfway.
        let line = frame.polyline(FULL, &[(-5, 1.0), (50, 5.0)]);
        let (x, y) = frame.place(FULL, (50, 5.0));
        assert_eq!(line, format!("{x:.1},{y:.1}"));
        assert!((x - (x0 + x1) / 2.0).abs() < 1e-9 && (y - (y0 + y1) / 2.0).abs() < 1e-9);
    }

    #[test]
    fn the_drawing_names_each_line_with_its_latest_value_and_escapes_names() {
        let s = [Series {
            name: "a<b".into(),
            color: 9,
            points: vec![(0, 1.0), (1_000, 3.0)],
            now: 2.5,
        }];
        let look = Look {
            window_ms: 0,
            unit: " /s",
            decimals: 1,
            spark: false,
        };
        let svg = draw("rates", "r", &s, look).into_string();
        assert!(
            svg.contains(
                r#"data-testid="r-line-a&lt;b" data-points="2" data-latest="3" data-max="3""#
            ),
            "{svg}"
        );
        assert!(svg.contains(r#"<g class="c1">"#), "{svg}");
        assert!(svg.contains("a&lt;b <strong>2.5 /s</strong>"), "{svg}");
        assert!(!svg.contains("a<b"), "{svg}");
        // Nothing yet: a note rather than an empty frame; small charts stay blank.
        assert!(
            draw("rates", "r", &[], look)
                .0
                .contains("waiting for the first samples")
        );
        let spark = Look {
            spark: true,
            ..look
        };
        assert!(!draw("lag", "l", &[], spark).0.contains("waiting"));
    }

    #[test]
    fn a_hostile_name_or_test_id_stays_text_in_every_attribute() {
        let hostile = r#""'><img src=x onerror=alert(1)>"#;
        let s = [Series {
            name: hostile.into(),
            color: 0,
            points: vec![(0, 1.0)],
            now: 1.0,
        }];
        let look = Look {
            window_ms: 0,
            unit: "",
            decimals: 0,
            spark: false,
        };
        let svg = draw(hostile, &format!("lag-chart-{hostile}"), &s, look).into_string();
        assert!(!svg.contains("<img"), "{svg}");
        assert!(!svg.contains(r#""'>"#), "{svg}");
        assert!(
            svg.contains("&quot;'&gt;&lt;img src=x onerror=alert(1)&gt;"),
            "{svg}"
        );
    }
}
