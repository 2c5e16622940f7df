//! SINP CSV occurrences: any bytes give rows or rejects or a file error, never a panic.
#![no_main]

use flou::ingest::csv::CsvOccurrenceReader;
use flou::ingest::{OccurrenceReader, Srid};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first byte picks the reference system of a `geometrie` column.
    let Some((&mode, csv)) = data.split_first() else {
        return;
    };
    let srid = if mode & 1 == 0 {
        Srid::Wgs84
    } else {
        Srid::Lambert93
    };
    let Ok(reader) =
        CsvOccurrenceReader::from_reader("fuzz.csv", std::io::Cursor::new(csv.to_vec()), srid)
    else {
        return;
    };
    drain(Box::new(reader.with_batch_size(7)));
});

fn drain(mut reader: Box<dyn OccurrenceReader>) {
    // A batch is at least one row, and rows need bytes: the loop is bounded by the input.
    while let Ok(Some(batch)) = reader.next_batch() {
        assert!(
            !batch.is_empty(),
            "an empty batch before the end of the file"
        );
    }
}
