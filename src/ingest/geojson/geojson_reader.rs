//! GeoJSON FeatureCollections of Point features whose properties carry the SINP fields
//! (same names and aliases as the CSV columns; strings or numbers).
//!
//! Streaming, with serde_json rather than geozero: geozero 0.15's `GeoJsonReader` reads
//! the whole file into one string and one `geojson` tree, and its streaming path
//! (`read_geojson_fc`, geojson's `FeatureReader`) finds the features array by skipping to
//! the first `[` — wrong when a `bbox` precedes `features` — and stops the whole file at
//! the first feature with a malformed geometry. Here a thread parses the file with a serde
//! visitor that keeps only the SINP properties (unknown ones are skipped without being
//! stored) and decodes each geometry leniently, so a bad feature is one reject; it hands
//! batches over a rendezvous channel, and the rows are validated in parallel with rayon.
//! Memory stays at about two batches whatever the file size.

use crate::ingest::fields::{Field, OwnedGeometry, OwnedRecord, OwnedValue, BATCH_SIZE};
use crate::ingest::mapping::Mapping;
use crate::ingest::occurrence::Origin;
use crate::ingest::{IngestError, Occurrence, OccurrenceReader, Reject, Srid};
use rayon::prelude::*;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use std::fmt;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;

thread_local! {
    /// The column mapping of the file the current parsing thread reads (each file has its
    /// own thread), consulted for every property name and recoded value.
    static MAPPING: std::cell::RefCell<Option<Arc<Mapping>>> = const { std::cell::RefCell::new(None) };
}

/// What the parsing thread sends.
enum Message {
    Batch {
        /// 1-based number of the batch's first feature.
        first_feature: u64,
        srid: Srid,
        rows: Vec<OwnedRecord>,
    },
    Done,
    Failed(IngestError),
}

pub struct GeoJsonOccurrenceReader {
    file: String,
    file_index: u32,
    batches: Receiver<Message>,
    finished: bool,
}

impl GeoJsonOccurrenceReader {
    /// Opens a GeoJSON file. Coordinates are WGS84 (RFC 7946), unless a legacy `crs` member
    /// placed before `features` names EPSG:2154.
    pub fn open(path: &Path) -> Result<Self, IngestError> {
        Self::open_mapped(path, None)
    }

    /// [`GeoJsonOccurrenceReader::open`] under a column mapping file.
    pub fn open_mapped(path: &Path, mapping: Option<Arc<Mapping>>) -> Result<Self, IngestError> {
        let name = path.display().to_string();
        let file = File::open(path).map_err(|source| IngestError::Io {
            path: name.clone(),
            source,
        })?;
        Self::start(name, file, BATCH_SIZE, mapping)
    }

    /// Reads GeoJSON from any byte stream; `name` stands for the file in rejects.
    pub fn from_reader(
        name: impl Into<String>,
        input: impl Read + Send + 'static,
    ) -> Result<Self, IngestError> {
        Self::start(name.into(), input, BATCH_SIZE, None)
    }

    /// Sets the index of this file in the ingest's file list ([`Origin::file`]).
    pub fn with_file_index(mut self, file_index: u32) -> Self {
        self.file_index = file_index;
        self
    }

    fn start(
        file: String,
        input: impl Read + Send + 'static,
        batch_size: usize,
        mapping: Option<Arc<Mapping>>,
    ) -> Result<Self, IngestError> {
        let (sender, batches) = sync_channel(0);
        let thread_file = file.clone();
        std::thread::Builder::new()
            .name("geojson-reader".into())
            .spawn(move || {
                MAPPING.with(|m| *m.borrow_mut() = mapping);
                parse_file(thread_file, input, batch_size.max(1), sender)
            })
            .map_err(|source| IngestError::Io {
                path: file.clone(),
                source,
            })?;
        Ok(GeoJsonOccurrenceReader {
            file,
            file_index: 0,
            batches,
            finished: false,
        })
    }
}

impl OccurrenceReader for GeoJsonOccurrenceReader {
    fn next_batch(&mut self) -> Result<Option<Vec<Result<Occurrence, Reject>>>, IngestError> {
        if self.finished {
            return Ok(None);
        }
        let message = self.batches.recv().unwrap_or_else(|_| {
            Message::Failed(IngestError::File {
                file: self.file.clone(),
                reason: "the GeoJSON parser stopped unexpectedly".to_string(),
            })
        });
        match message {
            Message::Batch {
                first_feature,
                srid,
                rows,
            } => {
                let (file, file_index) = (self.file.as_str(), self.file_index);
                let batch = rows
                    .par_iter()
                    .enumerate()
                    .with_min_len(256)
                    .map(|(i, row)| {
                        let origin = Origin {
                            file: file_index,
                            line: first_feature + i as u64,
                        };
                        row.validate(srid, origin, file)
                    })
                    .collect();
                Ok(Some(batch))
            }
            Message::Done => {
                self.finished = true;
                Ok(None)
            }
            Message::Failed(e) => {
                self.finished = true;
                Err(e)
            }
        }
    }
}

/// The parsing thread: the whole document, batch by batch, then `Done` or `Failed`.
fn parse_file(file: String, input: impl Read, batch_size: usize, sender: SyncSender<Message>) {
    let mut collector = Collector {
        sender: &sender,
        batch_size,
        rows: Vec::with_capacity(batch_size),
        first_feature: 1,
        srid: Srid::Wgs84,
        kind: None,
        saw_features: false,
        receiver_gone: false,
    };
    let mut de = serde_json::Deserializer::from_reader(BufReader::with_capacity(1 << 20, input));
    let parsed = (&mut de)
        .deserialize_map(DocumentVisitor(&mut collector))
        .and_then(|()| de.end());
    if collector.receiver_gone {
        return; // the reader was dropped: nobody to tell
    }
    let failure = |reason: String| {
        Message::Failed(IngestError::File {
            file: file.clone(),
            reason,
        })
    };
    let last = match parsed {
        Err(e) if e.is_io() => Message::Failed(IngestError::Io {
            path: file.clone(),
            source: std::io::Error::other(e.to_string()),
        }),
        Err(e) => failure(format!(
            "not a valid GeoJSON FeatureCollection, near feature {}: {e}",
            collector.first_feature + collector.rows.len() as u64
        )),
        Ok(()) => match collector.kind.as_deref() {
            Some("FeatureCollection") if collector.saw_features => {
                if collector.flush() {
                    Message::Done
                } else {
                    return;
                }
            }
            Some("FeatureCollection") => failure("a FeatureCollection without features".into()),
            Some(other) => failure(format!("a GeoJSON {other:?}, not a FeatureCollection")),
            None => failure("not GeoJSON: no \"type\": \"FeatureCollection\"".into()),
        },
    };
    let _ = sender.send(last); // fails only when the reader was dropped
}

struct Collector<'a> {
    sender: &'a SyncSender<Message>,
    batch_size: usize,
    rows: Vec<OwnedRecord>,
    first_feature: u64,
    srid: Srid,
    kind: Option<String>,
    saw_features: bool,
    receiver_gone: bool,
}

impl Collector<'_> {
    /// Sends the rows gathered so far; false when the reader is gone.
    fn flush(&mut self) -> bool {
        if self.rows.is_empty() {
            return true;
        }
        let rows = std::mem::replace(&mut self.rows, Vec::with_capacity(self.batch_size));
        let count = rows.len() as u64;
        let message = Message::Batch {
            first_feature: self.first_feature,
            srid: self.srid,
            rows,
        };
        if self.sender.send(message).is_err() {
            self.receiver_gone = true;
            return false;
        }
        self.first_feature += count;
        true
    }
}

struct DocumentVisitor<'a, 'b>(&'a mut Collector<'b>);

impl<'de> Visitor<'de> for DocumentVisitor<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a GeoJSON FeatureCollection object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<DocumentKey>()? {
            match key {
                DocumentKey::Type => self.0.kind = Some(map.next_value::<String>()?),
                DocumentKey::Crs => {
                    let crs = map.next_value::<serde_json::Value>()?;
                    let srid = crs_srid(&crs).map_err(de::Error::custom)?;
                    if self.0.saw_features && srid != self.0.srid {
                        return Err(de::Error::custom(
                            "the \"crs\" member comes after \"features\": put it before",
                        ));
                    }
                    self.0.srid = srid;
                }
                DocumentKey::Features => {
                    self.0.saw_features = true;
                    map.next_value_seed(FeaturesSeed(&mut *self.0))?;
                }
                DocumentKey::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// The legacy (2008) GeoJSON `crs` member: `{"type": "name", "properties": {"name": …}}`.
fn crs_srid(crs: &serde_json::Value) -> Result<Srid, String> {
    let name = crs
        .pointer("/properties/name")
        .and_then(|n| n.as_str())
        .unwrap_or_default();
    let code = name.rsplit([':', '/']).next().unwrap_or_default();
    match code {
        "4326" | "CRS84" | "crs84" => Ok(Srid::Wgs84),
        "2154" => Ok(Srid::Lambert93),
        _ if crs.is_null() => Ok(Srid::Wgs84),
        _ => Err(format!(
            "unsupported crs {}: expected EPSG:4326 (the default) or EPSG:2154",
            crate::ingest::fields::shown(&crs.to_string())
        )),
    }
}

/// Deserializes a key without allocating, into a small enum.
macro_rules! key_enum {
    ($name:ident { $($text:literal => $variant:ident),* $(,)? }) => {
        enum $name {
            $($variant,)*
            Other,
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct KeyVisitor;
                impl Visitor<'_> for KeyVisitor {
                    type Value = $name;
                    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                        f.write_str("a key")
                    }
                    fn visit_str<E: de::Error>(self, v: &str) -> Result<$name, E> {
                        Ok(match v {
                            $($text => $name::$variant,)*
                            _ => $name::Other,
                        })
                    }
                }
                d.deserialize_str(KeyVisitor)
            }
        }
    };
}

key_enum!(DocumentKey { "type" => Type, "crs" => Crs, "features" => Features });
key_enum!(FeatureKey { "properties" => Properties, "geometry" => Geometry });
key_enum!(GeometryKey { "type" => Type, "coordinates" => Coordinates });

struct FeaturesSeed<'a, 'b>(&'a mut Collector<'b>);

impl<'de> DeserializeSeed<'de> for FeaturesSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for FeaturesSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of features")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(row) = seq.next_element::<FeatureRow>()? {
            self.0.rows.push(row.0);
            if self.0.rows.len() >= self.0.batch_size && !self.0.flush() {
                return Err(de::Error::custom("the reader was closed"));
            }
        }
        Ok(())
    }
}

/// One feature: its SINP properties and its geometry; anything else is skipped.
struct FeatureRow(OwnedRecord);

impl<'de> Deserialize<'de> for FeatureRow {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(FeatureVisitor)
    }
}

struct FeatureVisitor;

impl<'de> Visitor<'de> for FeatureVisitor {
    type Value = FeatureRow;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a GeoJSON Feature object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<FeatureRow, A::Error> {
        let mut row = OwnedRecord::default();
        while let Some(key) = map.next_key::<FeatureKey>()? {
            match key {
                FeatureKey::Properties => map.next_value_seed(PropertiesSeed(&mut row))?,
                FeatureKey::Geometry => {
                    row.geometry = map.next_value::<GeometryValue>()?.0;
                }
                FeatureKey::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(FeatureRow(row))
    }

    // Anything but an object is a reject, not the end of the file.
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<FeatureRow, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(not_a_feature("an array"))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<FeatureRow, E> {
        Ok(not_a_feature("a string"))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<FeatureRow, E> {
        Ok(not_a_feature("a number"))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<FeatureRow, E> {
        Ok(not_a_feature("a number"))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<FeatureRow, E> {
        Ok(not_a_feature("a number"))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<FeatureRow, E> {
        Ok(not_a_feature("a boolean"))
    }

    fn visit_unit<E: de::Error>(self) -> Result<FeatureRow, E> {
        Ok(not_a_feature("null"))
    }
}

fn not_a_feature(what: &str) -> FeatureRow {
    FeatureRow(OwnedRecord {
        problem: Some((None, format!("not a GeoJSON Feature object but {what}"))),
        ..OwnedRecord::default()
    })
}

/// Fills the SINP fields of a row from a `properties` object (or null).
struct PropertiesSeed<'a>(&'a mut OwnedRecord);

impl<'de> DeserializeSeed<'de> for PropertiesSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for PropertiesSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a properties object or null")
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    // Properties that are not an object make the feature a reject.
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        self.visit_str("")
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.0.problem = Some((None, "\"properties\" must be an object".to_string()));
        Ok(())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.visit_str("")
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.visit_str("")
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.visit_str("")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.visit_str("")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let row = self.0;
        while let Some(PropertyKey(field)) = map.next_key::<PropertyKey>()? {
            let Some(field) = field else {
                map.next_value::<IgnoredAny>()?;
                continue;
            };
            let PropertyValue(mut value) = map.next_value::<PropertyValue>()?;
            recode(field, &mut value);
            if value.is_absent() {
                continue; // null is the same as no property
            }
            if !row.get(field).is_absent() && row.problem.is_none() {
                row.problem = Some((
                    Some(field),
                    format!(
                        "given twice (under two of its names, e.g. {} and an alias)",
                        field.sinp_name()
                    ),
                ));
            }
            row.set(field, value);
        }
        Ok(())
    }
}

/// Recodes `value` of `field` by the thread's mapping, if it lists it.
fn recode(field: Field, value: &mut OwnedValue) {
    MAPPING.with(|m| {
        let m = m.borrow();
        let Some(m) = m.as_ref().filter(|m| m.recodes(field)) else {
            return;
        };
        let text = match value {
            OwnedValue::Text(t) => t.clone(),
            OwnedValue::Int(i) => i.to_string(),
            _ => return,
        };
        let mapped = m.value(field, &text);
        if mapped != text {
            *value = OwnedValue::Text(mapped.to_string());
        }
    });
}

/// A property name, as the field it gives (if any).
struct PropertyKey(Option<Field>);

impl<'de> Deserialize<'de> for PropertyKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = PropertyKey;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a property name")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<PropertyKey, E> {
                let field = MAPPING.with(|m| match m.borrow().as_ref() {
                    Some(m) => m.field_of(v),
                    None => Field::from_column_name(v),
                });
                Ok(PropertyKey(field))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

/// A property value: text, a number, null, or something no field accepts.
struct PropertyValue(OwnedValue);

impl<'de> Deserialize<'de> for PropertyValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(PropertyValueVisitor)
    }
}

struct PropertyValueVisitor;

impl<'de> Visitor<'de> for PropertyValueVisitor {
    type Value = PropertyValue;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a property value")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<PropertyValue, E> {
        Ok(PropertyValue(OwnedValue::Text(v.to_owned())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<PropertyValue, E> {
        Ok(PropertyValue(OwnedValue::Text(v)))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<PropertyValue, E> {
        Ok(PropertyValue(OwnedValue::Int(v)))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<PropertyValue, E> {
        Ok(PropertyValue(match i64::try_from(v) {
            Ok(i) => OwnedValue::Int(i),
            Err(_) => OwnedValue::Float(v as f64),
        }))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<PropertyValue, E> {
        Ok(PropertyValue(OwnedValue::Float(v)))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<PropertyValue, E> {
        Ok(PropertyValue(OwnedValue::Unsupported("a boolean")))
    }

    fn visit_unit<E: de::Error>(self) -> Result<PropertyValue, E> {
        Ok(PropertyValue(OwnedValue::Absent))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<PropertyValue, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(PropertyValue(OwnedValue::Unsupported("an array")))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<PropertyValue, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(PropertyValue(OwnedValue::Unsupported("an object")))
    }
}

/// A `geometry` member, decoded without storing anything but a point's coordinates.
struct GeometryValue(OwnedGeometry);

impl<'de> Deserialize<'de> for GeometryValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(GeometryVisitor)
    }
}

struct GeometryVisitor;

impl<'de> Visitor<'de> for GeometryVisitor {
    type Value = GeometryValue;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a GeoJSON geometry object or null")
    }

    fn visit_unit<E: de::Error>(self) -> Result<GeometryValue, E> {
        Ok(GeometryValue(OwnedGeometry::Missing))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<GeometryValue, A::Error> {
        let mut kind: Option<String> = None;
        let mut coordinates: Option<Coordinates> = None;
        while let Some(key) = map.next_key::<GeometryKey>()? {
            match key {
                GeometryKey::Type => {
                    kind = Some(match map.next_value::<PropertyValue>()?.0 {
                        OwnedValue::Text(t) => t,
                        _ => String::new(),
                    })
                }
                GeometryKey::Coordinates => coordinates = Some(map.next_value()?),
                GeometryKey::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let geometry = match (kind.as_deref(), coordinates) {
            (Some("Point"), Some(c)) if c.nested == 0 && c.others == 0 && c.count >= 2 => {
                OwnedGeometry::Point { x: c.x, y: c.y }
            }
            (Some("Point"), Some(c)) if c.nested == 0 && c.others == 0 && c.count == 0 => {
                OwnedGeometry::Invalid("empty point: no coordinates".into())
            }
            (Some("Point"), _) => OwnedGeometry::Invalid(
                "a Point's coordinates must be [longitude, latitude] numbers".into(),
            ),
            (Some(""), _) | (None, _) => {
                OwnedGeometry::Invalid("a geometry without a \"type\"".into())
            }
            (Some(other), _) => OwnedGeometry::NotPoint(other.to_string()),
        };
        Ok(GeometryValue(geometry))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<GeometryValue, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(GeometryValue(OwnedGeometry::Invalid(
            "a geometry must be an object".into(),
        )))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<GeometryValue, E> {
        Ok(GeometryValue(OwnedGeometry::Invalid(
            "a geometry must be an object".into(),
        )))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<GeometryValue, E> {
        self.visit_str("")
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<GeometryValue, E> {
        self.visit_str("")
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<GeometryValue, E> {
        self.visit_str("")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<GeometryValue, E> {
        self.visit_str("")
    }
}

/// A `coordinates` array summarised: the first two numbers, and how many elements of each
/// kind it has (a point has only numbers; other types have nested arrays).
#[derive(Default)]
struct Coordinates {
    x: f64,
    y: f64,
    count: usize,
    nested: usize,
    others: usize,
}

impl<'de> Deserialize<'de> for Coordinates {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(CoordinatesVisitor)
    }
}

struct CoordinatesVisitor;

impl<'de> Visitor<'de> for CoordinatesVisitor {
    type Value = Coordinates;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("coordinates")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Coordinates, A::Error> {
        let mut c = Coordinates::default();
        while let Some(element) = seq.next_element::<CoordinateElement>()? {
            match element {
                CoordinateElement::Number(v) => {
                    match c.count {
                        0 => c.x = v,
                        1 => c.y = v,
                        _ => {}
                    }
                    c.count += 1;
                }
                CoordinateElement::Nested => c.nested += 1,
                CoordinateElement::Other => c.others += 1,
            }
        }
        Ok(c)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Coordinates, E> {
        Ok(Coordinates {
            others: 1,
            ..Coordinates::default()
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Coordinates, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        self.visit_unit()
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Coordinates, E> {
        self.visit_unit()
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Coordinates, E> {
        self.visit_unit()
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Coordinates, E> {
        self.visit_unit()
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Coordinates, E> {
        self.visit_unit()
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Coordinates, E> {
        self.visit_unit()
    }
}

enum CoordinateElement {
    Number(f64),
    Nested,
    Other,
}

impl<'de> Deserialize<'de> for CoordinateElement {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ElementVisitor;
        impl<'de> Visitor<'de> for ElementVisitor {
            type Value = CoordinateElement;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a coordinate")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<CoordinateElement, E> {
                Ok(CoordinateElement::Number(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<CoordinateElement, E> {
                Ok(CoordinateElement::Number(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<CoordinateElement, E> {
                Ok(CoordinateElement::Number(v as f64))
            }
            fn visit_seq<A: SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<CoordinateElement, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(CoordinateElement::Nested)
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<CoordinateElement, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(CoordinateElement::Other)
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<CoordinateElement, E> {
                Ok(CoordinateElement::Other)
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<CoordinateElement, E> {
                Ok(CoordinateElement::Other)
            }
            fn visit_unit<E: de::Error>(self) -> Result<CoordinateElement, E> {
                Ok(CoordinateElement::Other)
            }
        }
        d.deserialize_any(ElementVisitor)
    }
}

#[cfg(test)]
#[path = "geojson_reader_tests.rs"]
mod tests;
