use crate::ingest::{IngestError, Occurrence, OccurrenceReader, Reject};
use std::path::Path;

pub struct FgbOccurrenceReader {}

impl FgbOccurrenceReader {
    pub fn open(path: &Path) -> Result<Self, IngestError> {
        let _ = path;
        unimplemented!("helper ingest")
    }
}

impl OccurrenceReader for FgbOccurrenceReader {
    fn next_batch(&mut self) -> Result<Option<Vec<Result<Occurrence, Reject>>>, IngestError> {
        unimplemented!("helper ingest")
    }
}
