//! The floor for flou's cached tiles (issue #4): a minimal axum server that answers each
//! path of a list with bytes read into memory beforehand, and 404 otherwise. Same runtime,
//! same HTTP stack, same headers flou sends for a tile, no work per request beyond a
//! hash lookup — what "cached flou" is measured against in benches/load.sh.
//!
//!   cargo run --release --example static_tiles -- LIST.tsv 127.0.0.1:8092
//!
//! LIST.tsv: one `path-and-query<TAB>file` per line.

use axum::body::Bytes;
use axum::http::{header, StatusCode, Uri};
use axum::response::IntoResponse;
use std::collections::HashMap;
use std::sync::Arc;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(list), Some(bind)) = (args.next(), args.next()) else {
        return Err("usage: static_tiles LIST.tsv ADDR".into());
    };
    let mut tiles: HashMap<String, Bytes> = HashMap::new();
    for line in std::fs::read_to_string(&list)?.lines() {
        if let Some((path, file)) = line.split_once('\t') {
            tiles.insert(path.to_string(), Bytes::from(std::fs::read(file)?));
        }
    }
    let tiles = Arc::new(tiles);
    let app = axum::Router::new().fallback(move |uri: Uri| {
        let tiles = tiles.clone();
        async move {
            let key = uri.path_and_query().map_or("", |p| p.as_str());
            match tiles.get(key) {
                Some(b) => (
                    [
                        (header::CONTENT_TYPE, "application/vnd.mapbox-vector-tile"),
                        (header::CACHE_CONTROL, "public, max-age=300"),
                        (header::VARY, "Authorization, Accept-Encoding"),
                    ],
                    b.clone(),
                )
                    .into_response(),
                None => StatusCode::NOT_FOUND.into_response(),
            }
        }
    });
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(&bind).await?;
        println!("static tiles on http://{}/", listener.local_addr()?);
        axum::serve(listener, app).await?;
        Ok::<(), Box<dyn std::error::Error>>(())
    })?;
    Ok(())
}
