//! One module per panel, and the pieces panels share.

pub mod analytics;
pub mod bar_chart;
pub mod bulk_replay;
pub mod claim_actions;
pub mod claim_detail;
pub mod claim_form;
pub mod claim_history;
pub mod claims_board;
pub mod connection;
pub mod console;
pub mod dead_letters;
pub mod failure;
pub mod field;
pub mod groups;
pub mod instructor;
pub mod lab;
pub mod line_chart;
pub mod markup;
pub mod memory;
pub mod note_form;
pub mod projection;
pub mod redis_panel;
pub mod retention;
pub mod time_travel;
pub mod timeline;
pub mod trim_form;
