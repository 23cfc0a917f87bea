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
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(app::App);
}
