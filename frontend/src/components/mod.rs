//! One module per panel.

pub mod claim_detail;
pub mod claim_form;
pub mod claims_board;
pub mod connection;
pub mod dead_letters;
pub mod groups;
pub mod projection;
pub mod redis_panel;
pub mod time_travel;
pub mod timeline;
