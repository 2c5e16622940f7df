//! The areas file: the communes and departments an ingest used, with their geometry, so a
//! store is self-contained (the server draws blurred areas from it, a delta ingest locates
//! new points with the same areas).
#![forbid(unsafe_code)]

use super::container::{Container, ContainerWriter, Magic};
use super::StoreError;
use crate::admin::{AdminAreas, AdminError, Commune, Departement};
use crate::geo::{BBox, MultiPolygon, Polygon};
use std::ops::Range;
use std::path::Path;

pub const AREAS_MAGIC: Magic = *b"FLOUARE1";

mod id {
    pub const COMMUNE_CODE: u32 = 1;
    pub const COMMUNE_NAME_OFFSETS: u32 = 2;
    pub const COMMUNE_NAME_BLOB: u32 = 3;
    pub const COMMUNE_DEPARTEMENT: u32 = 4;
    pub const DEPARTEMENT_CODE: u32 = 10;
    pub const DEPARTEMENT_NAME_OFFSETS: u32 = 11;
    pub const DEPARTEMENT_NAME_BLOB: u32 = 12;
    /// Per area (communes, then departments): `[start, end)` in POLYGONS.
    pub const AREA_POLYGONS: u32 = 20;
    /// Per polygon: `[start, end)` in RINGS, exterior first.
    pub const POLYGON_RINGS: u32 = 21;
    /// Per ring: `[start, end)` in VERTICES.
    pub const RING_VERTICES: u32 = 22;
    pub const VERTICES: u32 = 23;
    pub const AREA_BBOX: u32 = 24;
}

fn fixed_code<const N: usize>(code: &str) -> [u8; N] {
    let mut b = [0u8; N];
    let n = code.len().min(N);
    b[..n].copy_from_slice(&code.as_bytes()[..n]);
    b
}

fn code_text(b: &[u8]) -> &str {
    let end = b.iter().position(|c| *c == 0).unwrap_or(b.len());
    std::str::from_utf8(&b[..end]).unwrap_or("")
}

pub fn write_areas(path: &Path, areas: &AdminAreas) -> Result<u64, StoreError> {
    let mut w = ContainerWriter::new(AREAS_MAGIC);
    let codes: Vec<[u8; 8]> = areas.communes.iter().map(|c| fixed_code(&c.code)).collect();
    w.add(id::COMMUNE_CODE, &codes);
    let (off, blob) = strings(areas.communes.iter().map(|c| c.name.as_str()));
    w.add(id::COMMUNE_NAME_OFFSETS, &off);
    w.add(id::COMMUNE_NAME_BLOB, &blob);
    w.add(
        id::COMMUNE_DEPARTEMENT,
        &areas
            .communes
            .iter()
            .map(|c| c.departement)
            .collect::<Vec<u16>>(),
    );
    let codes: Vec<[u8; 4]> = areas
        .departements
        .iter()
        .map(|d| fixed_code(&d.code))
        .collect();
    w.add(id::DEPARTEMENT_CODE, &codes);
    let (off, blob) = strings(areas.departements.iter().map(|d| d.name.as_str()));
    w.add(id::DEPARTEMENT_NAME_OFFSETS, &off);
    w.add(id::DEPARTEMENT_NAME_BLOB, &blob);

    let geometries = areas
        .communes
        .iter()
        .map(|c| (&c.geometry, c.bbox))
        .chain(areas.departements.iter().map(|d| (&d.geometry, d.bbox)));
    let (mut area_polys, mut poly_rings, mut ring_verts, mut verts, mut bboxes) = (
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::<[f64; 2]>::new(),
        Vec::new(),
    );
    for (g, bbox) in geometries {
        let p0 = poly_rings.len() as u32;
        for p in &g.polygons {
            let r0 = ring_verts.len() as u32;
            for ring in std::iter::once(&p.exterior).chain(&p.interiors) {
                let v0 = verts.len() as u32;
                verts.extend_from_slice(ring);
                ring_verts.push([v0, verts.len() as u32]);
            }
            poly_rings.push([r0, ring_verts.len() as u32]);
        }
        area_polys.push([p0, poly_rings.len() as u32]);
        bboxes.push([bbox.min[0], bbox.min[1], bbox.max[0], bbox.max[1]]);
    }
    w.add(id::AREA_POLYGONS, &area_polys);
    w.add(id::POLYGON_RINGS, &poly_rings);
    w.add(id::RING_VERTICES, &ring_verts);
    w.add(id::VERTICES, &verts);
    w.add(id::AREA_BBOX, &bboxes);
    w.write(path)
}

fn strings<'a>(items: impl Iterator<Item = &'a str>) -> (Vec<u64>, Vec<u8>) {
    let mut offsets = vec![0u64];
    let mut blob = Vec::new();
    for s in items {
        blob.extend_from_slice(s.as_bytes());
        offsets.push(blob.len() as u64);
    }
    (offsets, blob)
}

/// The areas file opened by mmap.
#[derive(Debug)]
pub struct AreasFile {
    c: Container,
    commune_code: Range<usize>,
    commune_name_offsets: Range<usize>,
    commune_name_blob: Range<usize>,
    commune_departement: Range<usize>,
    departement_code: Range<usize>,
    departement_name_offsets: Range<usize>,
    departement_name_blob: Range<usize>,
    area_polygons: Range<usize>,
    polygon_rings: Range<usize>,
    ring_vertices: Range<usize>,
    vertices: Range<usize>,
    area_bbox: Range<usize>,
}

impl AreasFile {
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let c = Container::open(path, AREAS_MAGIC)?;
        let a = AreasFile {
            commune_code: c.section_range::<[u8; 8]>(id::COMMUNE_CODE, "commune codes")?,
            commune_name_offsets: c
                .section_range::<u64>(id::COMMUNE_NAME_OFFSETS, "commune names")?,
            commune_name_blob: c.section_range::<u8>(id::COMMUNE_NAME_BLOB, "commune names")?,
            commune_departement: c
                .section_range::<u16>(id::COMMUNE_DEPARTEMENT, "commune departements")?,
            departement_code: c
                .section_range::<[u8; 4]>(id::DEPARTEMENT_CODE, "departement codes")?,
            departement_name_offsets: c
                .section_range::<u64>(id::DEPARTEMENT_NAME_OFFSETS, "departement names")?,
            departement_name_blob: c
                .section_range::<u8>(id::DEPARTEMENT_NAME_BLOB, "departement names")?,
            area_polygons: c.section_range::<[u32; 2]>(id::AREA_POLYGONS, "area polygons")?,
            polygon_rings: c.section_range::<[u32; 2]>(id::POLYGON_RINGS, "polygon rings")?,
            ring_vertices: c.section_range::<[u32; 2]>(id::RING_VERTICES, "ring vertices")?,
            vertices: c.section_range::<[f64; 2]>(id::VERTICES, "vertices")?,
            area_bbox: c.section_range::<[f64; 4]>(id::AREA_BBOX, "area boxes")?,
            c,
        };
        a.validate()?;
        Ok(a)
    }

    fn validate(&self) -> Result<(), StoreError> {
        let bad = |what: &str| {
            Err(StoreError::Corrupt {
                path: self.c.path().display().to_string(),
                reason: format!("areas file: {what} inconsistent"),
            })
        };
        let nc = self.commune_count();
        let nd = self.departement_count();
        let names_ok = |off: &Range<usize>, blob: &Range<usize>, n: usize| {
            let o = self.c.slice::<u64>(off);
            let b = self.c.bytes(blob);
            o.len() == n + 1
                && o.windows(2).all(|w| w[0] <= w[1])
                && o[n] as usize == b.len()
                && std::str::from_utf8(b)
                    .is_ok_and(|t| o.iter().all(|i| t.is_char_boundary(*i as usize)))
        };
        if !names_ok(&self.commune_name_offsets, &self.commune_name_blob, nc)
            || !names_ok(
                &self.departement_name_offsets,
                &self.departement_name_blob,
                nd,
            )
        {
            return bad("names");
        }
        if self.c.slice::<u16>(&self.commune_departement).len() != nc
            || self
                .c
                .slice::<u16>(&self.commune_departement)
                .iter()
                .any(|d| *d as usize >= nd)
        {
            return bad("commune departments");
        }
        let ranges_ok =
            |r: &[[u32; 2]], limit: usize| r.iter().all(|[a, b]| a <= b && *b as usize <= limit);
        let polys = self.c.slice::<[u32; 2]>(&self.area_polygons);
        let rings = self.c.slice::<[u32; 2]>(&self.polygon_rings);
        let verts = self.c.slice::<[u32; 2]>(&self.ring_vertices);
        if polys.len() != nc + nd
            || self.c.slice::<[f64; 4]>(&self.area_bbox).len() != nc + nd
            || !ranges_ok(polys, rings.len())
            || !ranges_ok(rings, verts.len())
            || !ranges_ok(verts, self.c.slice::<[f64; 2]>(&self.vertices).len())
        {
            return bad("geometry");
        }
        Ok(())
    }

    pub fn size_bytes(&self) -> u64 {
        self.c.len_bytes()
    }

    pub fn commune_count(&self) -> usize {
        self.c.slice::<[u8; 8]>(&self.commune_code).len()
    }

    pub fn departement_count(&self) -> usize {
        self.c.slice::<[u8; 4]>(&self.departement_code).len()
    }

    pub fn commune_code(&self, i: usize) -> &str {
        code_text(&self.c.slice::<[u8; 8]>(&self.commune_code)[i])
    }

    pub fn commune_name(&self, i: usize) -> &str {
        name(
            &self.c,
            &self.commune_name_offsets,
            &self.commune_name_blob,
            i,
        )
    }

    pub fn commune_departement(&self, i: usize) -> u16 {
        self.c.slice::<u16>(&self.commune_departement)[i]
    }

    pub fn commune_departements(&self) -> &[u16] {
        self.c.slice::<u16>(&self.commune_departement)
    }

    pub fn departement_code(&self, d: usize) -> &str {
        code_text(&self.c.slice::<[u8; 4]>(&self.departement_code)[d])
    }

    pub fn departement_name(&self, d: usize) -> &str {
        name(
            &self.c,
            &self.departement_name_offsets,
            &self.departement_name_blob,
            d,
        )
    }

    pub fn commune_bbox(&self, i: usize) -> BBox {
        self.bbox(i)
    }

    pub fn departement_bbox(&self, d: usize) -> BBox {
        self.bbox(self.commune_count() + d)
    }

    fn bbox(&self, area: usize) -> BBox {
        let b = self.c.slice::<[f64; 4]>(&self.area_bbox)[area];
        BBox {
            min: [b[0], b[1]],
            max: [b[2], b[3]],
        }
    }

    pub fn commune_geometry(&self, i: usize) -> MultiPolygon {
        self.geometry(i)
    }

    pub fn departement_geometry(&self, d: usize) -> MultiPolygon {
        self.geometry(self.commune_count() + d)
    }

    fn geometry(&self, area: usize) -> MultiPolygon {
        let [p0, p1] = self.c.slice::<[u32; 2]>(&self.area_polygons)[area];
        let rings = self.c.slice::<[u32; 2]>(&self.polygon_rings);
        let ring_verts = self.c.slice::<[u32; 2]>(&self.ring_vertices);
        let verts = self.c.slice::<[f64; 2]>(&self.vertices);
        let ring = |r: usize| {
            let [a, b] = ring_verts[r];
            verts[a as usize..b as usize].to_vec()
        };
        let polygons = (p0..p1)
            .map(|p| {
                let [r0, r1] = rings[p as usize];
                let r0 = r0 as usize;
                Polygon {
                    exterior: if r0 < r1 as usize {
                        ring(r0)
                    } else {
                        Vec::new()
                    },
                    interiors: (r0 + 1..r1 as usize).map(ring).collect(),
                }
            })
            .collect();
        MultiPolygon { polygons }
    }

    /// The areas as an indexed [`AdminAreas`] (for locating points of a delta ingest).
    pub fn to_admin_areas(&self) -> Result<AdminAreas, AdminError> {
        let departements = (0..self.departement_count())
            .map(|d| Departement {
                code: self.departement_code(d).to_string(),
                name: self.departement_name(d).to_string(),
                geometry: self.departement_geometry(d),
                bbox: self.departement_bbox(d),
            })
            .collect();
        let communes = (0..self.commune_count())
            .map(|i| Commune {
                code: self.commune_code(i).to_string(),
                name: self.commune_name(i).to_string(),
                departement: self.commune_departement(i),
                geometry: self.commune_geometry(i),
                bbox: self.commune_bbox(i),
            })
            .collect();
        AdminAreas::from_parts(communes, departements)
    }
}

fn name<'a>(c: &'a Container, off: &Range<usize>, blob: &Range<usize>, i: usize) -> &'a str {
    let o = c.slice::<u64>(off);
    std::str::from_utf8(&c.bytes(blob)[o[i] as usize..o[i + 1] as usize]).unwrap_or("")
}
