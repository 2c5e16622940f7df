//! SINP standard CSV occurrences.
mod csv_reader;
pub use csv_reader::CsvOccurrenceReader;
