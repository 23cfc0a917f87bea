use clap::Parser;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,tower_http=warn".into()),
        )
        .init();
    let app = backend::Application::build(backend::Config::parse()).await?;
    tracing::info!(
        "claimstream relay on http://127.0.0.1:{} (Redis: {})",
        app.port(),
        app.redis_location()
    );
    app.run_until_stopped(async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
    })
    .await
}
