//! The browser playground. The Leptos UI lands here in the browser issue; until then the crate
//! only proves that `shared` builds for the browser's target.

pub use shared;
