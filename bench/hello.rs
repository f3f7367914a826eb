//! The yardstick of `bench/compare.sh`: an actix-web hello world, built and run by the same
//! script on the same machine, so that the app's figures read as shares of what the framework
//! itself serves here.
//!
//!     cargo run --release --example hello -- 127.0.0.1:18099

use actix_web::{App, HttpServer, get};

#[get("/")]
async fn hello() -> &'static str {
    "Hello world!"
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:18099".to_string());
    HttpServer::new(|| App::new().service(hello))
        .bind(addr)?
        .run()
        .await
}
