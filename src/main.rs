use clap::Parser;

#[actix_web::main]
async fn main() {
    undersigned::telemetry::init();
    let cli = undersigned::cli::Cli::parse();
    if let Err(e) = undersigned::cli::run(cli).await {
        // One line, the whole cause chain, no backtrace: operators script this.
        eprintln!("undersigned: {e:#}");
        std::process::exit(1);
    }
}
