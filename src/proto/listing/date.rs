//! Calendar arithmetic for listing dates: civil date to Unix seconds (UTC),
//! and the year a year-less `ls -l` date stands for. No clock is read here:
//! "now" is always a parameter.

/// How far past `now` a year-less date may lie and still be taken as this
/// year's: the server's clock or time zone may be ahead of ours by up to a
/// day (ls prints the time, not the year, for dates up to six months in the
/// past and slightly in the future).
pub const FUTURE_SLACK: i64 = 86_400;

pub fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

pub fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The year of a day count since 1970-01-01.
pub fn year_of_days(days: i64) -> i64 {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    yoe + era * 400 + i64::from(month <= 2)
}

/// Unix seconds of a UTC date and time, None when any field is out of range
/// (30 February, hour 24, a year beyond 9999 ...).
pub fn unix_time(year: i64, month: u32, day: u32, hour: u32, minute: u32, second: u32) -> Option<i64> {
    if !(0..=9999).contains(&year) || !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let secs = i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second);
    Some(days_from_civil(year, month, day) * 86_400 + secs)
}

/// The most recent `month day hour:minute` that is not in the future
/// (allowing [`FUTURE_SLACK`]) relative to `now_unix`. A 29 February goes
/// back to the last leap year.
pub fn resolve_yearless(month: u32, day: u32, hour: u32, minute: u32, now_unix: i64) -> Option<i64> {
    let this_year = year_of_days(now_unix.div_euclid(86_400));
    // Nine years always include a leap year (1896 -> 1904 is the longest gap).
    (this_year - 8..=this_year + 1)
        .rev()
        .filter_map(|y| unix_time(y, month, day, hour, minute, 0))
        .find(|&t| t <= now_unix.saturating_add(FUTURE_SLACK))
}

/// 1-12 from an English month abbreviation (`Jan`, `jan`, `JAN`).
pub fn month_from_name(s: &str) -> Option<u32> {
    const MONTHS: [&[u8; 3]; 12] =
        [b"jan", b"feb", b"mar", b"apr", b"may", b"jun", b"jul", b"aug", b"sep", b"oct", b"nov", b"dec"];
    let b = s.as_bytes();
    if b.len() != 3 {
        return None;
    }
    let lower = [b[0].to_ascii_lowercase(), b[1].to_ascii_lowercase(), b[2].to_ascii_lowercase()];
    MONTHS.iter().position(|m| **m == lower).map(|i| i as u32 + 1)
}

/// A run of ASCII digits as a number; None for anything else or overflow.
pub fn digits(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `HH:MM` or `HH:MM:SS`.
pub fn clock(s: &str) -> Option<(u32, u32, u32)> {
    let mut parts = s.split(':');
    let h = digits(parts.next()?)?;
    let m = digits(parts.next()?)?;
    let sec = match parts.next() {
        Some(p) => digits(p)?,
        None => 0,
    };
    if parts.next().is_some() || h > 23 || m > 59 || sec > 60 {
        return None;
    }
    Some((h as u32, m as u32, sec as u32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(unix_time(2024, 2, 29, 15, 4, 0), Some(1_709_219_040));
        assert_eq!(unix_time(2023, 2, 29, 0, 0, 0), None);
        assert_eq!(unix_time(2000, 2, 29, 0, 0, 0), Some(951_782_400));
        assert_eq!(unix_time(1900, 2, 29, 0, 0, 0), None);
        for days in [-800_000, -1, 0, 59, 365, 10_957, 19_782, 2_000_000] {
            let y = year_of_days(days);
            assert!(days_from_civil(y, 1, 1) <= days && days < days_from_civil(y + 1, 1, 1), "{days}");
        }
    }

    #[test]
    fn yearless_dates_are_never_in_the_future() {
        let now = unix_time(2026, 11, 27, 10, 0, 0).unwrap();
        assert_eq!(resolve_yearless(11, 20, 8, 0, now), unix_time(2026, 11, 20, 8, 0, 0));
        assert_eq!(resolve_yearless(12, 25, 8, 0, now), unix_time(2025, 12, 25, 8, 0, 0));
        // Within a day ahead: the server's clock or zone, still this year.
        assert_eq!(resolve_yearless(11, 28, 9, 0, now), unix_time(2026, 11, 28, 9, 0, 0));
        assert_eq!(resolve_yearless(11, 29, 9, 0, now), unix_time(2025, 11, 29, 9, 0, 0));
        assert_eq!(resolve_yearless(2, 29, 12, 0, now), unix_time(2024, 2, 29, 12, 0, 0));
        let jan = unix_time(2025, 1, 2, 0, 0, 0).unwrap();
        assert_eq!(resolve_yearless(12, 31, 23, 59, jan), unix_time(2024, 12, 31, 23, 59, 0));
        assert_eq!(resolve_yearless(2, 29, 0, 0, jan), unix_time(2024, 2, 29, 0, 0, 0));
        let leap_day = unix_time(2028, 2, 29, 12, 0, 0).unwrap();
        assert_eq!(resolve_yearless(2, 29, 11, 0, leap_day), unix_time(2028, 2, 29, 11, 0, 0));
        assert_eq!(resolve_yearless(2, 30, 0, 0, now), None);
        assert_eq!(resolve_yearless(1, 1, 0, 0, i64::MAX), None);
        assert!(resolve_yearless(1, 1, 0, 0, i64::MIN / 2).is_none());
    }

    #[test]
    fn small_fields() {
        assert_eq!(month_from_name("Feb"), Some(2));
        assert_eq!(month_from_name("DEC"), Some(12));
        assert_eq!(month_from_name("Fe"), None);
        assert_eq!(month_from_name("Fé"), None);
        assert_eq!(clock("03:04"), Some((3, 4, 0)));
        assert_eq!(clock("23:59:59"), Some((23, 59, 59)));
        assert_eq!(clock("24:00"), None);
        assert_eq!(clock("2020"), None);
        assert_eq!(digits("+1"), None);
        assert_eq!(digits("99999999999999999999999"), None);
    }
}
