//! GeoJSON occurrences: any bytes give rows or rejects or a file error, never a panic.
#![no_main]

use flou::ingest::geojson::GeoJsonOccurrenceReader;
use flou::ingest::OccurrenceReader;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(mut reader) =
        GeoJsonOccurrenceReader::from_reader("fuzz.geojson", std::io::Cursor::new(data.to_vec()))
    else {
        return;
    };
    let mut batches = 0usize;
    while let Ok(Some(_batch)) = reader.next_batch() {
        batches += 1;
        assert!(batches <= data.len() + 1, "more batches than input bytes");
    }
});
