//! The playground, panel by panel.

mod board;
mod claim;
mod groups;
mod retention;
mod timeline;
