//! The pure parts: reading /proc/self/stat, netmask → prefix length, formatting.

/// Field 22 of `/proc/<pid>/stat` (`starttime`, clock ticks after boot; proc(5)). The
/// second field, the command name, may hold spaces and `)`: fields are counted after the
/// last `)`. `None` when the text does not have that shape.
pub fn start_ticks(stat: &str) -> Option<u64> {
    let after_comm = &stat[stat.rfind(')')? + 1..];
    // After the comm come field 3 (state) onwards: starttime is the 20th of those.
    after_comm.split_whitespace().nth(19)?.parse().ok()
}

/// Number of leading one bits of a netmask given as bytes, e.g. 255.255.255.0 → 24.
pub fn prefix_len(mask: &[u8]) -> u32 {
    let mut bits = 0;
    for byte in mask {
        bits += byte.leading_ones();
        if *byte != 0xff {
            break;
        }
    }
    bits
}

/// `seconds` as `0.412 s` (milliseconds resolution: the start time has 10 ms ticks).
pub fn format_waited(seconds: f64) -> String {
    format!("{seconds:.3} s")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_time_is_field_22_even_with_odd_command_names() {
        let stat = "4242 (we ird) cmd)) S 1 4242 4242 0 -1 4194560 93 0 0 0 0 0 0 0 20 0 1 0 987654 2732032 97 18446744073709551615";
        assert_eq!(start_ticks(stat), Some(987_654));
        assert_eq!(start_ticks("1 (init) S 0"), None);
        assert_eq!(start_ticks("garbage"), None);
    }

    #[test]
    fn real_proc_self_stat_parses() {
        let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
        assert!(start_ticks(&stat).is_some(), "{stat}");
    }

    #[test]
    fn prefix_lengths() {
        assert_eq!(prefix_len(&[255, 255, 255, 0]), 24);
        assert_eq!(prefix_len(&[255, 255, 254, 0]), 23);
        assert_eq!(prefix_len(&[0, 0, 0, 0]), 0);
        assert_eq!(prefix_len(&[255; 16]), 128);
        let mut v6 = [0u8; 16];
        v6[..8].fill(255);
        assert_eq!(prefix_len(&v6), 64);
    }

    #[test]
    fn waited_format() {
        assert_eq!(format_waited(0.4124), "0.412 s");
        assert_eq!(format_waited(12.0), "12.000 s");
    }
}
