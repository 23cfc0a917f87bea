//! What the relay teaches with: the learners' sandboxed stream console, the guided lab and
//! the class view, the failure scenarios, the traffic generator and the environment checklist.
//! It knows nothing of HTTP: its errors say what went wrong, and [`crate::http`] answers them.

pub mod console;
pub mod lab;
pub mod scenarios;
pub mod traffic;
pub mod validate;
