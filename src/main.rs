/// mimalloc: an export or a busy server allocates and frees millions of small strings, often on
/// different threads, where it is several times faster than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::Parser;

#[actix_web::main]
async fn main() {
    undersigned::telemetry::init();
    let cli = undersigned::cli::Cli::parse();
    if let Err(e) = undersigned::cli::run(cli).await {
        // One line, the whole cause chain, no backtrace: operators script this.
        eprintln!("undersigned: {e:#}");
        // `verify`: a package that only agrees with itself is not a broken one.
        let code = if e.downcast_ref::<undersigned::cli::UnknownKey>().is_some() {
            2
        } else {
            1
        };
        std::process::exit(code);
    }
}
