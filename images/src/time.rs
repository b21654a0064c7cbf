//! Time stamps for image metadata, from SOURCE_DATE_EPOCH only (never the clock), and the
//! check of a time a spec gives itself.

/// The last second RFC 3339 can write, 9999-12-31T23:59:59Z: the largest SOURCE_DATE_EPOCH
/// the kit takes.
pub const MAX_EPOCH: u64 = 253_402_300_799;

/// Formats `epoch` (seconds since 1970-01-01T00:00:00Z) as RFC 3339 in UTC with a `Z`
/// suffix and no fraction, e.g. `0` → `1970-01-01T00:00:00Z`: the form the OCI image spec
/// uses for `created` (config, annotations). Civil-from-days after H. Hinnant's
/// public-domain algorithm, valid up to [`MAX_EPOCH`].
pub fn rfc3339(epoch: u64) -> String {
    let days = (epoch / 86_400) as i64;
    let secs = epoch % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Days since 1970-01-01 → (year, month 1..=12, day 1..=31), proleptic Gregorian.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Checks that `text` is an RFC 3339 date-time as the OCI image spec and Docker read it
/// (Go's `time.RFC3339Nano`): `YYYY-MM-DDTHH:MM:SS`, an optional fraction `.d…`, then `Z`
/// or `±HH:MM`; upper-case `T` and `Z`; a real calendar day, hours 0–23, minutes and
/// seconds 0–59. Docker refuses to load an image whose config `created` is anything else.
///
/// Errors: which part is wrong, e.g. `no such day`.
pub fn check_rfc3339(text: &str) -> Result<(), String> {
    let bad = |what: &str| Err(what.to_string());
    let b = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| -> Option<u32> {
        let part = b.get(range)?;
        part.iter()
            .all(u8::is_ascii_digit)
            .then(|| part.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0')))
    };
    let fixed = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')];
    if b.len() < 19 || fixed.iter().any(|&(i, c)| b[i] != c) {
        return bad("not YYYY-MM-DDTHH:MM:SS");
    }
    let (Some(year), Some(month), Some(day), Some(hour), Some(minute), Some(second)) = (
        digits(0..4),
        digits(5..7),
        digits(8..10),
        digits(11..13),
        digits(14..16),
        digits(17..19),
    ) else {
        return bad("not YYYY-MM-DDTHH:MM:SS");
    };
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return bad("no such day");
    }
    if hour > 23 || minute > 59 || second > 59 {
        return bad("no such time of day");
    }
    let mut rest = &b[19..];
    if let Some(fraction) = rest.strip_prefix(b".") {
        let n = fraction.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 || n > 9 {
            return bad("a fraction needs 1 to 9 digits");
        }
        rest = &fraction[n..];
    }
    let zone_ok = match rest {
        b"Z" => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => {
            let hh = digits_of(*h1, *h2);
            let mm = digits_of(*m1, *m2);
            matches!((hh, mm), (Some(h), Some(m)) if h <= 23 && m <= 59)
        }
        _ => false,
    };
    if zone_ok {
        Ok(())
    } else {
        bad("the zone must be Z or ±HH:MM")
    }
}

fn digits_of(a: u8, b: u8) -> Option<u32> {
    (a.is_ascii_digit() && b.is_ascii_digit())
        .then(|| u32::from(a - b'0') * 10 + u32::from(b - b'0'))
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::{check_rfc3339, rfc3339, MAX_EPOCH};

    #[test]
    fn epoch_zero() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn known_instants() {
        // `date -u -d @951782400 +%FT%TZ` and friends.
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(4_102_444_799), "2099-12-31T23:59:59Z");
        assert_eq!(rfc3339(1_709_251_199), "2024-02-29T23:59:59Z");
        assert_eq!(rfc3339(MAX_EPOCH), "9999-12-31T23:59:59Z");
    }

    #[test]
    fn rfc3339_times_docker_reads_are_accepted() {
        for ok in [
            "1970-01-01T00:00:00Z",
            "2024-02-29T23:59:59Z",
            "2000-02-29T12:00:00.5Z",
            "2024-05-01T12:00:00.123456789+02:00",
            "2024-05-01T12:00:00-07:30",
        ] {
            assert_eq!(check_rfc3339(ok), Ok(()), "{ok}");
        }
        // What the kit writes is what it accepts.
        assert_eq!(check_rfc3339(&rfc3339(1_700_000_000)), Ok(()));
    }

    #[test]
    fn other_times_are_refused_with_the_part_that_is_wrong() {
        for (bad, why) in [
            ("2024-05-01", "not YYYY-MM-DDTHH:MM:SS"),
            ("2024-05-01 12:00:00Z", "not YYYY-MM-DDTHH:MM:SS"),
            ("2024-05-01t12:00:00Z", "not YYYY-MM-DDTHH:MM:SS"),
            ("24-05-01T12:00:00Zzz", "not YYYY-MM-DDTHH:MM:SS"),
            ("2024-O5-01T12:00:00Z", "not YYYY-MM-DDTHH:MM:SS"),
            ("2023-02-29T00:00:00Z", "no such day"),
            ("2100-02-29T00:00:00Z", "no such day"),
            ("2024-13-01T00:00:00Z", "no such day"),
            ("2024-04-31T00:00:00Z", "no such day"),
            ("2024-05-01T24:00:00Z", "no such time of day"),
            ("2024-05-01T12:60:00Z", "no such time of day"),
            ("2024-05-01T12:00:60Z", "no such time of day"),
            ("2024-05-01T12:00:00.Z", "a fraction needs 1 to 9 digits"),
            (
                "2024-05-01T12:00:00.1234567890Z",
                "a fraction needs 1 to 9 digits",
            ),
            ("2024-05-01T12:00:00", "the zone must be Z or ±HH:MM"),
            ("2024-05-01T12:00:00z", "the zone must be Z or ±HH:MM"),
            ("2024-05-01T12:00:00+0200", "the zone must be Z or ±HH:MM"),
            ("2024-05-01T12:00:00+24:00", "the zone must be Z or ±HH:MM"),
            ("2024-05-01T12:00:00Z ", "the zone must be Z or ±HH:MM"),
        ] {
            assert_eq!(check_rfc3339(bad), Err(why.to_string()), "{bad}");
        }
    }
}
