//! The claimstream browser playground: mounts the app.

mod api;
mod app;
mod components;
mod describe;
mod router;
mod session;
mod shortcuts;
mod store;
mod views;
mod workspace;

fn main() {
    // No panic hook: console_error_panic_hook costs the app over a kilobyte, and a panic
    // still shows in the console (as `unreachable`), with its place in a debug build.
    leptos::mount::mount_to_body(app::App);
}
