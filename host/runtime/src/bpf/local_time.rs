//! The `local-time` interface: a time zone's offset from UTC, which WASI's
//! clocks leave out, read from the host's tzdb as glibc reads it.

use jiff::tz::TimeZone;
use jiff::Timestamp;

use crate::bindings::local_time::{Host, ZoneOffset};
use crate::bindings::types::ErrorCode;
use crate::{BpfError, BpfResult};

use super::BpfCtxView;

/// The zone a TZ value names, as glibc reads TZ: empty is UTC, a leading
/// `:` is dropped, then an IANA name or a POSIX rule. No paths: a guest's
/// value must not make the host open a file it chose.
fn zone(tz: Option<&str>) -> BpfResult<TimeZone> {
    let Some(tz) = tz else {
        return Ok(TimeZone::system());
    };
    let name = tz.strip_prefix(':').unwrap_or(tz);
    let invalid = |why: &str| {
        BpfError::with_errno(
            ErrorCode::InvalidArgument,
            libc::EINVAL,
            format!(
                "time zone `{}`: {why}",
                tz.chars().take(64).collect::<String>().escape_debug()
            ),
        )
    };
    if name.is_empty() {
        return Ok(TimeZone::UTC);
    }
    // IANA names and POSIX rules are short; the host looks no further.
    if name.len() > 256 {
        return Err(invalid("longer than any zone name or rule"));
    }
    if name.starts_with('/') || name.split('/').any(|part| part == "..") {
        return Err(invalid("a path, not a zone name"));
    }
    TimeZone::get(name)
        .or_else(|_| TimeZone::posix(name))
        .map_err(|_| invalid("neither a name in the host's tzdb nor a POSIX rule"))
}

impl Host for BpfCtxView<'_> {
    fn offset(&mut self, tz: Option<String>, seconds: i64) -> BpfResult<ZoneOffset> {
        let zone = zone(tz.as_deref())?;
        let at = Timestamp::from_second(seconds).map_err(|_| {
            BpfError::with_errno(
                ErrorCode::InvalidArgument,
                libc::EOVERFLOW,
                format!("{seconds} seconds since the epoch is out of range"),
            )
        })?;
        let info = zone.to_offset_info(at);
        Ok(ZoneOffset {
            utc_offset: info.offset().seconds(),
            dst: info.dst().is_dst(),
            abbreviation: info.abbreviation().to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offset(tz: &str, seconds: i64) -> (i32, bool, String) {
        let zone = zone(Some(tz)).unwrap();
        let info = zone.to_offset_info(Timestamp::from_second(seconds).unwrap());
        (
            info.offset().seconds(),
            info.dst().is_dst(),
            info.abbreviation().to_string(),
        )
    }

    #[test]
    fn tz_values_as_glibc_reads_them() {
        // 2024-07-08, summer in the north.
        let july = 1_720_493_204;
        assert_eq!(offset("", july), (0, false, "UTC".into()));
        assert_eq!(
            offset("CET-1CEST,M3.5.0,M10.5.0/3", july),
            (7200, true, "CEST".into())
        );
        assert_eq!(offset("EST5", july), (-18000, false, "EST".into()));
        assert!(zone(Some("/etc/shadow")).is_err());
        assert!(zone(Some(":../../etc/passwd")).is_err());
        assert!(zone(Some("Not/A_Zone")).is_err());
        assert!(zone(Some(&"A".repeat(100_000))).is_err());
    }
}
