//! One test per behaviour a learner relies on, a file per view of the app (the playground, a
//! folder of its panels). Each spec runs in a fixture of [`crate::fixture`], which starts its
//! stack, launches its browser and closes the browser however the spec ends.

mod analytics;
mod console;
mod hostile;
mod instructor;
mod lab;
mod playground;
mod projector;
mod views;
