//! The INPN Lambert-93 grids (1, 2, 5, 10, 20, 50 km): cell of a point, code and polygon.

/// A square grid size in kilometres.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GridSize {
    Km1,
    Km2,
    Km5,
    Km10,
    Km20,
    Km50,
}

/// A cell, by its south-west corner in whole grid steps (x / size, y / size).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cell {
    pub size: GridSize,
    pub e: i32,
    pub n: i32,
}

impl GridSize {
    pub fn metres(self) -> f64 {
        unimplemented!("helper geo")
    }
}

impl Cell {
    /// The one cell holding Lambert-93 point (x, y); a point on an edge belongs to the
    /// cell to its north-east.
    pub fn of_l93(size: GridSize, x: f64, y: f64) -> Cell {
        let _ = (size, x, y);
        unimplemented!("helper geo")
    }

    /// The INPN code, e.g. `10kmL93E074N695`, `5kmL93E0905N6250`, `1kmL93E742N6946`.
    pub fn code(&self) -> String {
        unimplemented!("helper geo")
    }

    /// Parses a code written by [`Cell::code`].
    pub fn parse(code: &str) -> Option<Cell> {
        let _ = code;
        unimplemented!("helper geo")
    }

    /// The cell's square in Lambert-93, counter-clockwise from the south-west corner, closed.
    pub fn square_l93(&self) -> [[f64; 2]; 5] {
        unimplemented!("helper geo")
    }
}
