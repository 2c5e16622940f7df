//! Plain geometry types in longitude/latitude (WGS84) unless a name says otherwise.

/// A closed ring: first point repeated last is allowed but not required.
pub type Ring = Vec<[f64; 2]>;

#[derive(Clone, Debug, PartialEq, Default)]
pub struct Polygon {
    pub exterior: Ring,
    pub interiors: Vec<Ring>,
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct MultiPolygon {
    pub polygons: Vec<Polygon>,
}

/// Axis-aligned box, `min` ≤ `max` on both axes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BBox {
    pub min: [f64; 2],
    pub max: [f64; 2],
}

impl BBox {
    pub const EMPTY: BBox = BBox {
        min: [f64::INFINITY, f64::INFINITY],
        max: [f64::NEG_INFINITY, f64::NEG_INFINITY],
    };

    pub fn extend(&mut self, p: [f64; 2]) {
        self.min[0] = self.min[0].min(p[0]);
        self.min[1] = self.min[1].min(p[1]);
        self.max[0] = self.max[0].max(p[0]);
        self.max[1] = self.max[1].max(p[1]);
    }

    pub fn union(&self, o: &BBox) -> BBox {
        BBox {
            min: [self.min[0].min(o.min[0]), self.min[1].min(o.min[1])],
            max: [self.max[0].max(o.max[0]), self.max[1].max(o.max[1])],
        }
    }

    pub fn contains(&self, p: [f64; 2]) -> bool {
        p[0] >= self.min[0] && p[0] <= self.max[0] && p[1] >= self.min[1] && p[1] <= self.max[1]
    }

    pub fn intersects(&self, o: &BBox) -> bool {
        self.min[0] <= o.max[0]
            && o.min[0] <= self.max[0]
            && self.min[1] <= o.max[1]
            && o.min[1] <= self.max[1]
    }

    pub fn is_empty(&self) -> bool {
        self.min[0] > self.max[0] || self.min[1] > self.max[1]
    }
}

impl Polygon {
    pub fn bbox(&self) -> BBox {
        let mut b = BBox::EMPTY;
        for p in &self.exterior {
            b.extend(*p);
        }
        b
    }
}

impl MultiPolygon {
    pub fn bbox(&self) -> BBox {
        self.polygons
            .iter()
            .fold(BBox::EMPTY, |acc, p| acc.union(&p.bbox()))
    }

    pub fn vertex_count(&self) -> usize {
        self.polygons
            .iter()
            .map(|p| p.exterior.len() + p.interiors.iter().map(Vec::len).sum::<usize>())
            .sum()
    }
}
