mod fgb_reader;
pub use fgb_reader::FgbOccurrenceReader;
