//! Read-only figures written as markup and set with `inner_html`: charts and tables that are
//! redrawn whole whenever their data comes. They are `maud` templates (`html!`), which escape
//! every value put in, in text and in attributes alike, so nothing from the relay (names and
//! messages come from Redis, which anyone can write) can become an element or an attribute.
//! No markup is built by joining strings; a value goes in unescaped only as `PreEscaped` with
//! the reason beside it. A view per element would cost the app far more code (every element
//! and closure is its own type), and the app has a size budget; what a person clicks or types
//! in stays a view.

use wasm_bindgen::JsCast;

/// The element matching `selector` that a click landed in, for a click handler on an element
/// whose content is markup (its buttons say in `data-` attributes what they are for).
pub fn clicked(ev: &leptos::ev::MouseEvent, selector: &str) -> Option<web_sys::Element> {
    ev.target()?
        .dyn_into::<web_sys::Element>()
        .ok()?
        .closest(selector)
        .ok()?
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    fn sources(dir: &Path, out: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|x| x == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                out.push((path.display().to_string(), text));
            }
        }
    }

    /// Markup is built by templates and views only: a tag written into a string next to values
    /// is how a name from Redis once became an element.
    #[test]
    fn no_markup_is_written_as_text() {
        let mut files = Vec::new();
        sources(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut files,
        );
        // Spelled in two parts, so this file does not match them itself.
        let written = [
            ["format!(", "r#\"<"],
            ["format!(", "\"<"],
            ["write!(out, ", "r#\"<"],
            ["push_str(", "\"<"],
            ["push_str(", "r#\"<"],
            ["inner_html=", "format!"],
            ["escape", "(&"],
        ]
        .map(|[a, b]| format!("{a}{b}"));
        let written = &written;
        let found: Vec<String> = files
            .iter()
            .flat_map(|(path, text)| {
                text.lines()
                    .enumerate()
                    .filter(|(_, line)| written.iter().any(|w| line.contains(w.as_str())))
                    .map(move |(n, line)| format!("{path}:{}: {}", n + 1, line.trim()))
            })
            .collect();
        assert!(found.is_empty(), "markup written as text: {found:#?}");
        assert!(files.len() > 20, "the sources were read");
    }
}
