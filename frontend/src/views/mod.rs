//! The app's views, one per path (see `router`).

pub mod playground;
