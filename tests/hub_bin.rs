//! The hub's binary, built as this crate's own so the black-box test runs the current code.
use clap::Parser;

#[tokio::main]
async fn main() {
    let cli = kitakontor_hub::cli::Cli::parse();
    if let Err(e) = kitakontor_hub::cli::run(cli).await {
        eprintln!("Fehler: {e}");
        std::process::exit(1);
    }
}
