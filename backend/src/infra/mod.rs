//! The relay as a program: its configuration (flags and environment) and its start-up, which
//! builds every part from the config and runs them until told to stop. Nothing below imports it.

pub mod config;
pub mod startup;
