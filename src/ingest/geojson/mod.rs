mod geojson_reader;
pub use geojson_reader::GeoJsonOccurrenceReader;
