use clap::{Parser, Subcommand};

// mimalloc, not the system allocator: on `cargo xtask bench relay` (2 cores, 40,000 submits,
// runs interleaved) the relay spent 94-97 µs of CPU per submit with mimalloc, 100-116 with
// jemalloc (`tikv-jemallocator`), 117-118 with glibc's malloc, whose malloc/free and arena
// locks were the top of the profile. `backend/examples/bench.rs` declares the same one.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use tokio_util::sync::CancellationToken;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::prelude::*;

#[derive(Parser)]
#[command(
    name = "backend",
    about = "claimstream relay: claims on Redis Streams, over HTTP and WebSocket"
)]
struct Cli {
    #[command(flatten)]
    config: backend::Config,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Generate traffic: realistic claims submitted and moved through their lifecycle, at
    /// --rate events per second, until Ctrl-C (or --seconds), against the relay's Redis.
    Traffic {
        /// Events per second, 1 to 200.
        #[arg(long, default_value_t = 5)]
        rate: u32,
        /// Stop after this many seconds.
        #[arg(long)]
        seconds: Option<u64>,
        /// The relay's Redis, which it logs at start.
        #[arg(long, env = "REDIS_URL")]
        redis_url: Option<String>,
    },
    /// Check the environment (Redis reachable, version, persistence, memory policy) and exit
    /// non-zero if a check fails; one line per check, for setup scripts.
    Validate {
        /// The Redis to check; without it, the redis-server the relay would start itself.
        #[arg(long, env = "REDIS_URL")]
        redis_url: Option<String>,
    },
    /// Run one consumer of one group in this process, against the relay's Redis (--redis-url).
    Worker {
        /// claims-processors, claims-analytics or claims-notifications.
        #[arg(long)]
        group: String,
        /// This consumer's name in the group; pick one per process.
        #[arg(long)]
        consumer: String,
        /// The relay's Redis, which it logs at start.
        #[arg(long, env = "REDIS_URL")]
        redis_url: Option<String>,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer())
        .with(log_filter())
        .init();
    let Cli { config, command } = Cli::parse();
    if let Some(Command::Traffic {
        rate,
        seconds,
        redis_url,
    }) = &command
    {
        let Some(db) = config.subcommand_db(redis_url.clone())? else {
            anyhow::bail!(
                "traffic needs --redis-url (or REDIS_URL, or --redis-cluster): the Redis the relay uses, which it logs at start"
            );
        };
        if !(1..=backend::teaching::traffic::MAX_RATE).contains(rate) {
            anyhow::bail!(
                "--rate is events per second, from 1 to {}",
                backend::teaching::traffic::MAX_RATE
            );
        }
        let stop = CancellationToken::new();
        tokio::spawn({
            let (stop, seconds) = (stop.clone(), *seconds);
            async move {
                match seconds {
                    Some(s) => tokio::time::sleep(std::time::Duration::from_secs(s)).await,
                    None => stop_requested().await,
                }
                stop.cancel();
            }
        });
        let counts = backend::teaching::traffic::Counts::default();
        println!(
            "traffic: {rate} events/s into {} (Ctrl-C stops)",
            db.location
        );
        let clock = backend::store::clock::Clock::system();
        backend::teaching::traffic::run(&config.claims(db), &clock, *rate, stop, &counts).await;
        println!(
            "traffic: {} events, {} claims submitted",
            counts.events.load(std::sync::atomic::Ordering::Relaxed),
            counts.claims.load(std::sync::atomic::Ordering::Relaxed)
        );
        return Ok(());
    }
    if let Some(Command::Validate { redis_url }) = &command {
        let result = match config.subcommand_db(redis_url.clone())? {
            Some(db) => {
                backend::teaching::validate::run(backend::teaching::validate::Target::Redis(&db))
                    .await
            }
            None => {
                backend::teaching::validate::run(backend::teaching::validate::Target::Embedded)
                    .await
            }
        };
        println!("{}", backend::teaching::validate::report(&result));
        std::process::exit(if result.ok { 0 } else { 1 });
    }
    if let Some(Command::Worker {
        group,
        consumer,
        redis_url,
    }) = command
    {
        let Some(db) = config.subcommand_db(redis_url)? else {
            anyhow::bail!(
                "a worker needs --redis-url (or REDIS_URL, or --redis-cluster): the Redis the relay uses, which it logs at start"
            );
        };
        let stop = CancellationToken::new();
        tokio::spawn({
            let stop = stop.clone();
            async move {
                stop_requested().await;
                stop.cancel();
            }
        });
        return backend::workers::standalone::run(
            db,
            &group,
            &consumer,
            &config.worker_settings(backend::store::clock::Clock::system()),
            stop,
        )
        .await;
    }
    let listen = config.listen;
    match backend::http::connections::raise_file_limit() {
        Some(files) => tracing::info!(files, "open-file limit (soft, raised to the hard limit)"),
        None => tracing::info!("open-file limit: unlimited"),
    }
    let app = backend::Application::build(config).await?;
    let host = if listen.ip().is_unspecified() {
        "<this machine's address>".to_owned()
    } else {
        listen.ip().to_string()
    };
    tracing::info!(
        "claimstream relay on http://{host}:{} (Redis: {})",
        app.port(),
        app.redis_location()
    );
    if let Some(token) = app.generated_token() {
        // Printed, not logged through tracing filters, so it is seen even with RUST_LOG=warn.
        println!(
            "instructor: open http://{host}:{}/#token={token} (learners use the same URL \
             without the token; set --instructor-token to choose one)",
            app.port()
        );
    }
    app.run_until_stopped(async {
        stop_requested().await;
        tracing::info!("shutting down");
    })
    .await
}

/// What to log: `RUST_LOG` as a level and `target=level` pairs (`warn`,
/// `info,backend::workers=debug`), else info, with tower-http's at warn.
fn log_filter() -> Targets {
    const DEFAULT: &str = "info,tower_http=warn";
    match std::env::var("RUST_LOG") {
        Ok(wanted) => wanted.parse().unwrap_or_else(|e| {
            eprintln!(
                "RUST_LOG={wanted:?} is not a level or target=level list ({e}); using {DEFAULT}"
            );
            DEFAULT.parse().expect("the default filter parses")
        }),
        Err(_) => DEFAULT.parse().expect("the default filter parses"),
    }
}

/// Ctrl-C, or SIGTERM (what `kill`, systemd and container runtimes send): either way the
/// relay stops in order, and its embedded Redis with it.
async fn stop_requested() {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("a SIGTERM handler installs");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
}
