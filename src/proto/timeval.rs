//! The `YYYYMMDDHHMMSS` time values of MDTM, MFMT and MLST's `modify` fact
//! (RFC 3659 §2.3), always UTC, to and from Unix seconds.

/// `YYYYMMDDHHMMSS[.sss]` (MDTM, MLST modify) as Unix seconds, UTC.
pub fn parse_time_val(s: &str) -> Option<i64> {
    let s = s.split('.').next()?;
    if s.len() != 14 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = |a: usize, b: usize| s[a..b].parse::<i64>().ok();
    let (y, mo, d, h, mi, se) = (n(0, 4)?, n(4, 6)?, n(6, 8)?, n(8, 10)?, n(10, 12)?, n(12, 14)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    Some(days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se)
}

/// Unix seconds as `YYYYMMDDHHMMSS` (MFMT, SITE UTIME).
pub fn format_time_val(t: i64) -> String {
    let days = t.div_euclid(86400);
    let secs = t.rem_euclid(86400);
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}{m:02}{d:02}{:02}{:02}{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

// Howard Hinnant's civil calendar algorithms.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_vals_round_trip() {
        assert_eq!(parse_time_val("19700101000000"), Some(0));
        assert_eq!(parse_time_val("20240229123456.789"), Some(1709210096));
        assert_eq!(format_time_val(1709210096), "20240229123456");
        assert_eq!(parse_time_val("2024022912345"), None);
        assert_eq!(parse_time_val("20241301000000"), None);
        for t in [0, 1, 86399, 951782400, 4102444800] {
            assert_eq!(parse_time_val(&format_time_val(t)), Some(t));
        }
    }
}
