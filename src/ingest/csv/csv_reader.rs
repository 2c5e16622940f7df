use crate::ingest::{IngestError, Occurrence, OccurrenceReader, Reject, Srid};
use std::path::Path;

pub struct CsvOccurrenceReader {}

impl CsvOccurrenceReader {
    pub fn open(path: &Path, srid: Srid) -> Result<Self, IngestError> {
        let _ = (path, srid);
        unimplemented!("helper ingest")
    }
}

impl OccurrenceReader for CsvOccurrenceReader {
    fn next_batch(&mut self) -> Result<Option<Vec<Result<Occurrence, Reject>>>, IngestError> {
        unimplemented!("helper ingest")
    }
}
