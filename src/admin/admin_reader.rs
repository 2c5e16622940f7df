//! Streaming reader of GeoJSON FeatureCollections of (multi)polygons with `code` / `nom`
//! properties.
//!
//! serde_json drives a hand-written visitor: each feature is handed to a callback as soon
//! as it is parsed, coordinates go straight into flat vectors (no `serde_json::Value` node
//! per number, no intermediate geometry type), and the feature number stays known so that
//! every error can name it. The 45 MB national file loads in about 0.6 s in release,
//! point index included.

use super::AdminError;
use crate::geo::{MultiPolygon, Polygon, Ring};
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::cell::Cell;
use std::fmt;

/// One feature as read, before any check of its content.
#[derive(Debug, Default)]
pub(crate) struct RawFeature {
    /// `properties.code`; `Some(Err(kind))` when present but not a string.
    pub code: Option<Result<String, &'static str>>,
    pub nom: Option<Result<String, &'static str>>,
    /// `None` when the feature has no geometry member or `"geometry": null`.
    pub geometry: Option<RawGeometry>,
}

#[derive(Debug, Default)]
pub(crate) struct RawGeometry {
    pub kind: Option<String>,
    pub coordinates: Option<NestedCoords>,
}

/// Arbitrarily nested coordinate arrays, flattened. `ends[d]` lists, for every array closed
/// at nesting depth `d` (0 = the `coordinates` array itself), the cumulative count of the
/// elements at depth `d + 1` once it is closed; so array `i` at depth `d` holds elements
/// `ends[d][i - 1]..ends[d][i]` of depth `d + 1`.
#[derive(Debug, Default)]
pub(crate) struct NestedCoords {
    pub numbers: Vec<f64>,
    pub ends: [Vec<u32>; MAX_DEPTH + 1],
    /// Elements seen so far at each depth.
    counts: [u32; MAX_DEPTH + 2],
    /// Depth at which numbers were found (3 for a Polygon, 4 for a MultiPolygon).
    pub leaf_depth: Option<usize>,
    /// Deepest array seen (2 for a Polygon, 3 for a MultiPolygon).
    pub deepest_array: Option<usize>,
}

/// Deepest array accepted: a MultiPolygon's positions sit at depth 3, one more is read so
/// that a too-deep geometry gets a precise error.
const MAX_DEPTH: usize = 4;

/// Reads a FeatureCollection from `bytes`, calling `on_feature(index, feature)` for every
/// feature in order (index counted from 0, as in `features[index]`).
pub(crate) fn read_features(
    file: &str,
    bytes: &[u8],
    on_feature: &mut dyn FnMut(u64, RawFeature) -> Result<(), AdminError>,
) -> Result<u64, AdminError> {
    let current = Cell::new(None::<u64>);
    // A callback's error, kept aside while serde unwinds with a placeholder error.
    let mut stop = None::<AdminError>;
    let mut count = 0u64;
    let outcome = {
        let seed = CollectionSeed {
            current: &current,
            stop: &mut stop,
            on_feature,
            count: &mut count,
        };
        let mut de = serde_json::Deserializer::from_slice(bytes);
        seed.deserialize(&mut de).and_then(|found| {
            de.end()?;
            Ok(found)
        })
    };
    if let Some(err) = stop {
        return Err(err);
    }
    match outcome {
        Ok(CollectionShape {
            is_feature_collection: true,
            has_features: true,
        }) => Ok(count),
        Ok(CollectionShape {
            is_feature_collection: false,
            ..
        }) => Err(AdminError::Invalid {
            file: file.to_owned(),
            reason: "top-level \"type\" is not \"FeatureCollection\"".to_owned(),
        }),
        Ok(_) => Err(AdminError::Invalid {
            file: file.to_owned(),
            reason: "no \"features\" array".to_owned(),
        }),
        Err(e) => Err(match current.get() {
            Some(feature) => AdminError::Feature {
                file: file.to_owned(),
                feature,
                field: "(json)".to_owned(),
                reason: e.to_string(),
            },
            None => AdminError::Invalid {
                file: file.to_owned(),
                reason: format!("not a GeoJSON FeatureCollection: {e}"),
            },
        }),
    }
}

struct CollectionShape {
    is_feature_collection: bool,
    has_features: bool,
}

struct CollectionSeed<'a, 'f> {
    current: &'a Cell<Option<u64>>,
    stop: &'a mut Option<AdminError>,
    on_feature: &'a mut (dyn FnMut(u64, RawFeature) -> Result<(), AdminError> + 'f),
    count: &'a mut u64,
}

impl<'de> DeserializeSeed<'de> for CollectionSeed<'_, '_> {
    type Value = CollectionShape;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for CollectionSeed<'_, '_> {
    type Value = CollectionShape;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a GeoJSON FeatureCollection object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut shape = CollectionShape {
            is_feature_collection: false,
            has_features: false,
        };
        while let Some(key) = map.next_key::<KeyName>()? {
            match key.0.as_str() {
                "type" => {
                    let kind: String = map.next_value()?;
                    shape.is_feature_collection = kind == "FeatureCollection";
                }
                "features" => {
                    map.next_value_seed(FeaturesSeed {
                        current: self.current,
                        stop: self.stop,
                        on_feature: self.on_feature,
                        count: self.count,
                    })?;
                    shape.has_features = true;
                    self.current.set(None);
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(shape)
    }
}

/// A map key, owned: serde_json hands out borrowed keys only when they hold no escapes.
struct KeyName(String);

impl<'de> de::Deserialize<'de> for KeyName {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = KeyName;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<KeyName, E> {
                Ok(KeyName(v.to_owned()))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

struct FeaturesSeed<'a, 'f> {
    current: &'a Cell<Option<u64>>,
    stop: &'a mut Option<AdminError>,
    on_feature: &'a mut (dyn FnMut(u64, RawFeature) -> Result<(), AdminError> + 'f),
    count: &'a mut u64,
}

impl<'de> DeserializeSeed<'de> for FeaturesSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for FeaturesSeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of features")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0u64;
        loop {
            self.current.set(Some(index));
            let Some(feature) = seq.next_element_seed(FeatureSeed)? else {
                break;
            };
            if let Err(err) = (self.on_feature)(index, feature) {
                *self.stop = Some(err);
                return Err(de::Error::custom("stopped by a feature error"));
            }
            index += 1;
            *self.count = index;
        }
        Ok(())
    }
}

struct FeatureSeed;

impl<'de> DeserializeSeed<'de> for FeatureSeed {
    type Value = RawFeature;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<RawFeature, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for FeatureSeed {
    type Value = RawFeature;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a GeoJSON Feature object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawFeature, A::Error> {
        let mut feature = RawFeature::default();
        while let Some(key) = map.next_key::<KeyName>()? {
            match key.0.as_str() {
                "properties" => {
                    let props: Option<Properties> = map.next_value()?;
                    if let Some(props) = props {
                        feature.code = props.code;
                        feature.nom = props.nom;
                    }
                }
                "geometry" => {
                    feature.geometry = map.next_value_seed(OptionalGeometrySeed)?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(feature)
    }
}

/// The two properties used; any other property is skipped.
struct Properties {
    code: Option<Result<String, &'static str>>,
    nom: Option<Result<String, &'static str>>,
}

impl<'de> de::Deserialize<'de> for Properties {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct PropsVisitor;
        impl<'de> Visitor<'de> for PropsVisitor {
            type Value = Properties;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a properties object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Properties, A::Error> {
                let mut props = Properties {
                    code: None,
                    nom: None,
                };
                while let Some(key) = map.next_key::<KeyName>()? {
                    match key.0.as_str() {
                        "code" => props.code = map.next_value::<StringOrKind>()?.0,
                        "nom" => props.nom = map.next_value::<StringOrKind>()?.0,
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(props)
            }
        }
        d.deserialize_map(PropsVisitor)
    }
}

/// A property value: the string, or the JSON kind it had instead (`null` counts as absent).
struct StringOrKind(Option<Result<String, &'static str>>);

impl<'de> de::Deserialize<'de> for StringOrKind {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = StringOrKind;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<StringOrKind, E> {
                Ok(StringOrKind(Some(Ok(v.to_owned()))))
            }
            fn visit_unit<E: de::Error>(self) -> Result<StringOrKind, E> {
                Ok(StringOrKind(None))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<StringOrKind, E> {
                Ok(StringOrKind(Some(Err("a boolean"))))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<StringOrKind, E> {
                Ok(StringOrKind(Some(Err("a number"))))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<StringOrKind, E> {
                Ok(StringOrKind(Some(Err("a number"))))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<StringOrKind, E> {
                Ok(StringOrKind(Some(Err("a number"))))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<StringOrKind, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(StringOrKind(Some(Err("an array"))))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<StringOrKind, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(StringOrKind(Some(Err("an object"))))
            }
        }
        d.deserialize_any(V)
    }
}

struct OptionalGeometrySeed;

impl<'de> DeserializeSeed<'de> for OptionalGeometrySeed {
    type Value = Option<RawGeometry>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for OptionalGeometrySeed {
    type Value = Option<RawGeometry>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a GeoJSON geometry object or null")
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(GeometryVisitor).map(Some)
    }
}

struct GeometryVisitor;

impl<'de> Visitor<'de> for GeometryVisitor {
    type Value = RawGeometry;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a GeoJSON geometry object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawGeometry, A::Error> {
        let mut geometry = RawGeometry::default();
        while let Some(key) = map.next_key::<KeyName>()? {
            match key.0.as_str() {
                "type" => geometry.kind = map.next_value::<StringOrKind>()?.0.and_then(Result::ok),
                "coordinates" => {
                    let mut coords = NestedCoords::default();
                    map.next_value_seed(NestedSeed {
                        depth: 0,
                        coords: &mut coords,
                    })?;
                    geometry.coordinates = Some(coords);
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(geometry)
    }
}

/// Reads one element of a coordinates array at `depth`: a number or a nested array.
struct NestedSeed<'a> {
    depth: usize,
    coords: &'a mut NestedCoords,
}

impl<'de> DeserializeSeed<'de> for NestedSeed<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl NestedSeed<'_> {
    fn number<E: de::Error>(self, v: f64) -> Result<(), E> {
        match self.coords.leaf_depth {
            None => self.coords.leaf_depth = Some(self.depth),
            Some(d) if d == self.depth => {}
            Some(_) => return Err(E::custom("coordinates nested unevenly")),
        }
        self.coords.numbers.push(v);
        Ok(())
    }
}

impl<'de> Visitor<'de> for NestedSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a coordinate array or number")
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        self.number(v)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.number(v as f64)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        self.number(v as f64)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let depth = self.depth;
        if depth > MAX_DEPTH {
            return Err(de::Error::custom("coordinates nested too deeply"));
        }
        let coords = self.coords;
        coords.deepest_array = coords.deepest_array.max(Some(depth));
        let mut elements = 0u32;
        while seq
            .next_element_seed(NestedSeed {
                depth: depth + 1,
                coords: &mut *coords,
            })?
            .is_some()
        {
            elements = elements
                .checked_add(1)
                .ok_or_else(|| de::Error::custom("too many coordinates"))?;
        }
        let total = coords.counts[depth + 1]
            .checked_add(elements)
            .ok_or_else(|| de::Error::custom("too many coordinates"))?;
        coords.counts[depth + 1] = total;
        coords.ends[depth].push(total);
        Ok(())
    }
}

/// The (multi)polygon described by `geometry`, or the field at fault and why.
pub(crate) fn to_multipolygon(geometry: &RawGeometry) -> Result<MultiPolygon, (String, String)> {
    const COORDS: &str = "geometry.coordinates";
    let fail = |field: &str, reason: String| (field.to_owned(), reason);
    let kind = geometry
        .kind
        .as_deref()
        .ok_or_else(|| fail("geometry.type", "missing or not a string".to_owned()))?;
    // Depth of the arrays that are polygons: 0 for a Polygon, 1 for a MultiPolygon.
    let polygon_depth = match kind {
        "Polygon" => 0,
        "MultiPolygon" => 1,
        other => {
            return Err(fail(
                "geometry.type",
                format!("{other} where Polygon or MultiPolygon was expected"),
            ))
        }
    };
    let coords = geometry
        .coordinates
        .as_ref()
        .ok_or_else(|| fail(COORDS, "missing".to_owned()))?;
    let ring_depth = polygon_depth + 1;
    let position_depth = ring_depth + 1;
    match (coords.leaf_depth, coords.deepest_array) {
        (Some(leaf), Some(deepest)) if leaf == position_depth + 1 && deepest == position_depth => {}
        (None, _) => return Err(fail(COORDS, "no positions".to_owned())),
        (Some(leaf), _) => {
            return Err(fail(
                COORDS,
                format!(
                    "not nested as a {kind} (numbers found {leaf} arrays deep, expected {})",
                    position_depth + 1
                ),
            ))
        }
    }
    // Consistent nesting (checked above) makes these ranges valid; `get` keeps a bad file
    // from ever panicking should that reasoning be wrong.
    let range = |depth: usize, i: usize| -> Option<std::ops::Range<usize>> {
        let ends = &coords.ends[depth];
        let lo = if i == 0 {
            0
        } else {
            *ends.get(i - 1)? as usize
        };
        let hi = *ends.get(i)? as usize;
        (lo <= hi).then_some(lo..hi)
    };
    let broken = || fail(COORDS, "inconsistent nesting".to_owned());

    let ring_of = |ring: usize| -> Result<Ring, (String, String)> {
        let positions = range(ring_depth, ring).ok_or_else(broken)?;
        let mut out = Ring::with_capacity(positions.len());
        for (k, p) in positions.enumerate() {
            let numbers = range(position_depth, p).ok_or_else(broken)?;
            let xy = coords.numbers.get(numbers.clone()).ok_or_else(broken)?;
            let (x, y) = match xy {
                [x, y, ..] => (*x, *y),
                _ => {
                    return Err(fail(
                        COORDS,
                        format!("ring {ring}: position {k} has fewer than 2 numbers"),
                    ))
                }
            };
            if !x.is_finite() || !y.is_finite() {
                return Err(fail(
                    COORDS,
                    format!("ring {ring}: position {k} is not finite"),
                ));
            }
            out.push([x, y]);
        }
        if out.len() < 3 {
            return Err(fail(
                COORDS,
                format!("ring {ring} has {} positions, at least 3 needed", out.len()),
            ));
        }
        Ok(out)
    };
    let polygon_of = |poly: usize| -> Result<Polygon, (String, String)> {
        let mut rings = range(polygon_depth, poly).ok_or_else(broken)?;
        let exterior = ring_of(
            rings
                .next()
                .ok_or_else(|| fail(COORDS, format!("polygon {poly} has no ring")))?,
        )?;
        let interiors = rings.map(ring_of).collect::<Result<Vec<_>, _>>()?;
        Ok(Polygon {
            exterior,
            interiors,
        })
    };

    let polygon_count = coords.ends[polygon_depth].len();
    if polygon_count == 0 {
        return Err(fail(COORDS, format!("{kind} without polygons")));
    }
    let polygons = (0..polygon_count)
        .map(polygon_of)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(MultiPolygon { polygons })
}
