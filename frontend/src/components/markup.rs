//! Read-only figures written as HTML text and set with `inner_html`: charts and tables that are
//! redrawn whole whenever their data comes. A view per element costs the app far more code (every
//! element and closure is its own type), and the app has a size budget; what a person clicks or
//! types in stays a view. Everything that comes from the relay goes through [`escape`].

use wasm_bindgen::JsCast;

/// Text made safe to put in markup (names and messages come from Redis, which anyone can write).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The element matching `selector` that a click landed in, for a click handler on an element
/// whose content is markup text (its buttons say in `data-` attributes what they are for).
pub fn clicked(ev: &leptos::ev::MouseEvent, selector: &str) -> Option<web_sys::Element> {
    ev.target()?
        .dyn_into::<web_sys::Element>()
        .ok()?
        .closest(selector)
        .ok()?
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn markup_characters_are_written_as_entities() {
        assert_eq!(
            escape(r#"<img src=x onerror="a('b')"> & more"#),
            "&lt;img src=x onerror=&quot;a(&#39;b&#39;)&quot;&gt; &amp; more"
        );
    }
}
