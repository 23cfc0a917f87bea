//! The playground, panel by panel.

mod board;
mod claim;
mod debugger;
mod groups;
mod retention;
mod timeline;
