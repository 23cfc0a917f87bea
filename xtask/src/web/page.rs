//! index.html as Trunk reads it: its `<link data-trunk ...>` elements, and the tags Trunk puts
//! in their place (the module script, the stylesheet, the preloads), written the same way.

use std::ops::Range;

use anyhow::{Result, bail};

/// One `<link data-trunk rel="..." ...>` element of index.html.
#[derive(Debug)]
pub struct Link {
    /// Where the element sits in the page, `<` to `>`.
    pub span: Range<usize>,
    attrs: Vec<(String, String)>,
}

/// The attributes the xtask's build reproduces, by `rel`; any other is refused rather than
/// silently built differently from Trunk.
const KNOWN: [(&str, &[&str]); 4] = [
    (
        "rust",
        &[
            "href",
            "data-bin",
            "data-cargo-profile",
            "data-cargo-features",
            "data-cargo-no-default-features",
            "data-wasm-opt",
            "data-wasm-opt-params",
        ],
    ),
    ("css", &["href"]),
    ("copy-file", &["href"]),
    ("copy-dir", &["href"]),
];

impl Link {
    pub fn rel(&self) -> &str {
        self.get("rel").unwrap_or_default()
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The attribute `name`, which this kind of link must have.
    pub fn require(&self, name: &str) -> Result<&str> {
        match self.get(name) {
            Some(value) => Ok(value),
            None => bail!(
                "index.html: <link data-trunk rel=\"{}\"> needs a {name} attribute",
                self.rel()
            ),
        }
    }

    fn check_known(&self) -> Result<()> {
        let rel = self.rel();
        let Some((_, known)) = KNOWN.iter().find(|(r, _)| *r == rel) else {
            bail!(
                "index.html: <link data-trunk rel=\"{rel}\"> is not built by `cargo xtask` \
                 (it builds rel = rust, css, copy-file, copy-dir; see xtask/src/web/page.rs)"
            );
        };
        for (name, _) in &self.attrs {
            if !["data-trunk", "rel"].contains(&name.as_str()) && !known.contains(&name.as_str()) {
                bail!(
                    "index.html: <link data-trunk rel=\"{rel}\"> has {name}, which `cargo xtask` \
                     does not reproduce (it knows {}; see xtask/src/web/page.rs)",
                    known.join(", ")
                );
            }
        }
        Ok(())
    }
}

/// The `<link data-trunk ...>` elements of `html`, in order; fails on one the xtask cannot build.
pub fn trunk_links(html: &str) -> Result<Vec<Link>> {
    let mut links = Vec::new();
    for (start, _) in html.match_indices("<link") {
        let Some(len) = html[start..].find('>') else {
            bail!("index.html: a <link> is not closed");
        };
        let inner = html[start + "<link".len()..start + len].trim_end_matches('/');
        let attrs = attributes(inner);
        if attrs.iter().any(|(name, _)| name == "data-trunk") {
            let link = Link {
                span: start..start + len + 1,
                attrs,
            };
            link.check_known()?;
            links.push(link);
        }
    }
    Ok(links)
}

/// `a="1" b c='2'` -> [(a, 1), (b, ""), (c, 2)].
fn attributes(mut s: &str) -> Vec<(String, String)> {
    let mut attrs = Vec::new();
    loop {
        s = s.trim_start();
        let name_end = s
            .find(|c: char| c.is_whitespace() || c == '=')
            .unwrap_or(s.len());
        if name_end == 0 {
            return attrs;
        }
        let name = s[..name_end].to_ascii_lowercase();
        s = s[name_end..].trim_start();
        let mut value = String::new();
        if let Some(rest) = s.strip_prefix('=') {
            let rest = rest.trim_start();
            let (v, after) = match rest.chars().next() {
                Some(q @ ('"' | '\'')) => {
                    let body = &rest[1..];
                    let end = body.find(q).unwrap_or(body.len());
                    (&body[..end], body.get(end + 1..).unwrap_or_default())
                }
                _ => rest.split_at(rest.find(char::is_whitespace).unwrap_or(rest.len())),
            };
            value = v.to_owned();
            s = after;
        }
        attrs.push((name, value));
    }
}

/// What Trunk writes in place of the rust link: load the bindings, start the app, expose the
/// bindings and announce the start (Trunk's default initializer, wasm-bindgen >= 0.2.93).
pub fn module_script(js: &str, wasm: &str) -> String {
    format!(
        r#"
<script type="module">
import init, * as bindings from '/{js}';
const wasm = await init({{ module_or_path: '/{wasm}' }});


window.wasmBindings = bindings;


dispatchEvent(new CustomEvent("TrunkApplicationStarted", {{detail: {{wasm}}}}));

</script>"#
    )
}

/// What Trunk writes in place of a css link.
pub fn stylesheet(file: &str, integrity: &str) -> String {
    format!(r#"<link rel="stylesheet" href="/{file}" integrity="{integrity}"/>"#)
}

/// What Trunk appends to the head so the JS and wasm download while the page parses.
pub fn preloads(js: &str, js_integrity: &str, wasm: &str, wasm_integrity: &str) -> String {
    format!(
        r#"<link rel="modulepreload" href="/{js}" crossorigin="anonymous" integrity="{js_integrity}"><link rel="preload" href="/{wasm}" crossorigin="anonymous" integrity="{wasm_integrity}" as="fetch" type="application/wasm">"#
    )
}

/// `html` with each link replaced by its text and `head_end` put just before `</head>`.
pub fn rewrite(html: &str, replaced: &[(Range<usize>, String)], head_end: &str) -> Result<String> {
    let Some(head_close) = html.find("</head>") else {
        bail!("index.html has no </head>");
    };
    let mut out = String::with_capacity(html.len() + 1024);
    let mut at = 0;
    for (span, text) in replaced {
        if span.end > head_close {
            bail!("index.html: put the <link data-trunk> elements in <head>");
        }
        out.push_str(&html[at..span.start]);
        out.push_str(text);
        at = span.end;
    }
    out.push_str(&html[at..head_close]);
    out.push_str(head_end);
    out.push_str(&html[head_close..]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"<html><head>
    <link rel="icon" href="x.png">
    <link data-trunk rel="rust" href="frontend/Cargo.toml" data-bin="frontend" data-wasm-opt="z" />
    <link data-trunk rel=css href='a b.css'>
  </head><body></body></html>"#;

    #[test]
    fn finds_the_trunk_links_and_their_attributes() {
        let links = trunk_links(PAGE).unwrap();
        assert_eq!(links.len(), 2);
        assert_eq!(links[0].rel(), "rust");
        assert_eq!(links[0].get("data-bin"), Some("frontend"));
        assert_eq!(links[0].get("data-wasm-opt"), Some("z"));
        assert!(PAGE[links[0].span.clone()].ends_with("/>"));
        assert_eq!(links[1].rel(), "css");
        assert_eq!(links[1].get("href"), Some("a b.css"));
    }

    #[test]
    fn refuses_what_it_would_build_differently_from_trunk() {
        let page = PAGE.replace("data-wasm-opt", "data-keep-debug");
        let err = trunk_links(&page).unwrap_err().to_string();
        assert!(err.contains("data-keep-debug"), "{err}");
        let page = PAGE.replace("rel=css", "rel=sass");
        let err = trunk_links(&page).unwrap_err().to_string();
        assert!(err.contains("\"sass\""), "{err}");
    }

    #[test]
    fn replaces_the_links_and_appends_the_preloads_to_the_head() {
        let links = trunk_links(PAGE).unwrap();
        let replaced: Vec<_> = links
            .iter()
            .zip(["<script/>", "<style/>"])
            .map(|(l, t)| (l.span.clone(), t.to_owned()))
            .collect();
        let out = rewrite(PAGE, &replaced, "<preload/>").unwrap();
        assert!(!out.contains("data-trunk"), "{out}");
        assert!(out.contains(r#"<link rel="icon" href="x.png">"#));
        assert!(
            out.contains("    <script/>\n    <style/>\n  <preload/></head>"),
            "{out}"
        );
    }
}
