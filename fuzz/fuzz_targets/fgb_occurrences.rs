//! FlatGeobuf occurrences: any bytes give rows or rejects or a file error, never a panic
//! (nor an allocation sized by a header field the file does not back).
#![no_main]

use flou::ingest::fgb::FgbOccurrenceReader;
use flou::ingest::OccurrenceReader;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(reader) =
        FgbOccurrenceReader::from_reader("fuzz.fgb", std::io::Cursor::new(data.to_vec()))
    else {
        return;
    };
    let mut reader = reader.with_batch_size(7);
    let mut batches = 0usize;
    while let Ok(Some(_batch)) = reader.next_batch() {
        batches += 1;
        assert!(batches <= data.len() + 1, "more batches than input bytes");
    }
});
