//! Calendar days as a plain `i32`, so a date fits a 4-byte store column.
#![forbid(unsafe_code)]

use chrono::{Datelike, Months, NaiveDate};
use std::fmt;

/// Days since 1970-01-01 (proleptic Gregorian calendar).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, bytemuck::Pod, bytemuck::Zeroable,
)]
#[repr(transparent)]
pub struct Day(pub i32);

const EPOCH_FROM_CE: i32 = 719_163; // NaiveDate(1970-01-01).num_days_from_ce()

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a date (expected YYYY-MM-DD, optionally followed by a time): {0:?}")]
pub struct DateError(pub String);

impl Day {
    /// An end that never comes: sensitivity with no duration.
    pub const FOREVER: Day = Day(i32::MAX);

    pub fn from_ymd(year: i32, month: u32, day: u32) -> Option<Day> {
        NaiveDate::from_ymd_opt(year, month, day).map(Day::from_naive)
    }

    pub fn from_naive(d: NaiveDate) -> Day {
        Day(d.num_days_from_ce() - EPOCH_FROM_CE)
    }

    pub fn to_naive(self) -> Option<NaiveDate> {
        self.0
            .checked_add(EPOCH_FROM_CE)
            .and_then(NaiveDate::from_num_days_from_ce_opt)
    }

    /// Accepts `YYYY-MM-DD`, optionally followed by `T` or a space and a time
    /// (ISO 8601 as the SINP standard writes `dateDebut`); the time is dropped.
    pub fn parse(s: &str) -> Result<Day, DateError> {
        let t = s.trim();
        let date_part = t.split(['T', ' ']).next().unwrap_or("");
        let bytes = date_part.as_bytes();
        let ok_shape = bytes.len() == 10 && bytes[4] == b'-' && bytes[7] == b'-';
        if !ok_shape {
            return Err(DateError(s.to_string()));
        }
        NaiveDate::parse_from_str(date_part, "%Y-%m-%d")
            .map(Day::from_naive)
            .map_err(|_| DateError(s.to_string()))
    }

    /// The same calendar day `years` later (29 February becomes 28 February);
    /// saturates at [`Day::FOREVER`].
    pub fn add_years(self, years: u32) -> Day {
        match self
            .to_naive()
            .and_then(|d| d.checked_add_months(Months::new(years.saturating_mul(12))))
        {
            Some(d) => Day::from_naive(d),
            None => Day::FOREVER,
        }
    }

    pub fn today() -> Day {
        Day::from_naive(chrono::Local::now().date_naive())
    }

    pub fn year(self) -> i32 {
        self.to_naive().map(|d| d.year()).unwrap_or(i32::MAX)
    }
}

/// A day as `YYYY-MM-DD` on the stack: tiles write two per point, and chrono's strftime
/// machinery cost ~8 % of a dense tile.
#[derive(Clone, Copy)]
pub struct IsoDay {
    bytes: [u8; 10],
    /// Outside years 0–9999 (or `FOREVER`): written by Display instead.
    plain: bool,
}

impl IsoDay {
    /// The text, when the day is a plain four-digit-year date.
    pub fn as_str(&self) -> Option<&str> {
        if self.plain {
            std::str::from_utf8(&self.bytes).ok()
        } else {
            None
        }
    }
}

impl Day {
    pub fn iso(self) -> IsoDay {
        let mut bytes = *b"0000-00-00";
        let plain = match self.to_naive() {
            Some(d) if self != Day::FOREVER && (0..=9999).contains(&d.year()) => {
                let y = d.year() as u32;
                let digits = |v: u32, out: &mut [u8]| {
                    let mut v = v;
                    for b in out.iter_mut().rev() {
                        *b = b'0' + (v % 10) as u8;
                        v /= 10;
                    }
                };
                digits(y, &mut bytes[0..4]);
                digits(d.month(), &mut bytes[5..7]);
                digits(d.day(), &mut bytes[8..10]);
                true
            }
            _ => false,
        };
        IsoDay { bytes, plain }
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(s) = self.iso().as_str() {
            return f.write_str(s);
        }
        match self.to_naive() {
            Some(d) if *self != Day::FOREVER => write!(f, "{}", d.format("%Y-%m-%d")),
            _ => f.write_str("forever"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_text_equals_chrono_strftime_on_every_day_of_four_centuries() {
        for n in Day::from_ymd(1800, 1, 1).unwrap().0..Day::from_ymd(2200, 1, 1).unwrap().0 {
            let d = Day(n);
            let chrono_text = d.to_naive().unwrap().format("%Y-%m-%d").to_string();
            assert_eq!(d.iso().as_str(), Some(chrono_text.as_str()));
        }
        assert_eq!(Day::FOREVER.iso().as_str(), None);
        assert_eq!(Day::FOREVER.to_string(), "forever");
    }

    #[test]
    fn epoch_is_day_zero_and_round_trips() {
        assert_eq!(Day::from_ymd(1970, 1, 1), Some(Day(0)));
        assert_eq!(Day::parse("2017-08-03").unwrap().to_string(), "2017-08-03");
        assert_eq!(Day::parse("1899-12-31").unwrap().0, -25568);
    }

    #[test]
    fn parse_accepts_iso_datetimes_and_refuses_other_shapes() {
        assert_eq!(Day::parse("2017-08-03T10:20:00Z"), Day::parse("2017-08-03"));
        assert_eq!(Day::parse("2017-08-03 10:20"), Day::parse("2017-08-03"));
        for bad in ["03/08/2017", "2017-8-3", "2017-02-30", "", "20170803"] {
            assert!(Day::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn add_years_keeps_the_calendar_day_and_clamps_leap_days() {
        let d = Day::parse("2016-02-29").unwrap();
        assert_eq!(d.add_years(1).to_string(), "2017-02-28");
        assert_eq!(d.add_years(4).to_string(), "2020-02-29");
        assert_eq!(
            Day::parse("2000-06-15").unwrap().add_years(20).to_string(),
            "2020-06-15"
        );
    }
}
