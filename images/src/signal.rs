//! The image config's `StopSignal`, checked as Docker reads it (moby `pkg/signal`
//! `ParseSignal` with the Linux signal map): a signal name, upper or lower case, with or
//! without `SIG`, including `RTMIN+n` and `RTMAX-n`; or a signal number. Docker loads an
//! image with any text there, and `docker stop` then kills the container at once (exit
//! 137) instead of stopping it gracefully; the kit refuses it at build time.

/// The Linux signal names Docker knows, without `SIG`, besides `RTMIN+n`/`RTMAX-n`.
const NAMES: [&str; 34] = [
    "ABRT", "ALRM", "BUS", "CHLD", "CLD", "CONT", "FPE", "HUP", "ILL", "INT", "IO", "IOT", "KILL",
    "PIPE", "POLL", "PROF", "PWR", "QUIT", "SEGV", "STKFLT", "STOP", "SYS", "TERM", "TRAP", "TSTP",
    "TTIN", "TTOU", "URG", "USR1", "USR2", "VTALRM", "WINCH", "XCPU", "XFSZ",
];

/// The highest Linux signal number (SIGRTMAX).
const MAX_SIGNAL: u32 = 64;

/// Checks a `StopSignal`: `SIGTERM`, `term`, `SIGRTMIN+3`, `RTMAX-1`, `9` are fine;
/// `SIGFOO`, `0`, `65`, `RTMIN+16` are not.
///
/// Errors: the message, quoting the value and saying what to write.
pub fn check_stop_signal(text: &str) -> Result<(), String> {
    if known(text) {
        return Ok(());
    }
    Err(format!(
        "{text:?} is not a signal: write a name like \"SIGTERM\" or \"SIGQUIT\", or a number from 1 to {MAX_SIGNAL}"
    ))
}

fn known(text: &str) -> bool {
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text
            .parse::<u32>()
            .is_ok_and(|n| (1..=MAX_SIGNAL).contains(&n));
    }
    let upper = text.to_ascii_uppercase();
    let name = upper.strip_prefix("SIG").unwrap_or(&upper);
    // RTMIN, RTMIN+1 … RTMIN+15, RTMAX-14 … RTMAX-1, RTMAX: Docker's names, no others.
    let offset = |prefix: &str, sign: char, max: u32| match name.strip_prefix(prefix) {
        Some("") => true,
        Some(rest) => rest.strip_prefix(sign).is_some_and(|n| {
            !n.starts_with('0')
                && n.bytes().all(|b| b.is_ascii_digit())
                && n.parse::<u32>().is_ok_and(|n| (1..=max).contains(&n))
        }),
        None => false,
    };
    NAMES.contains(&name) || offset("RTMIN", '+', 15) || offset("RTMAX", '-', 14)
}

#[cfg(test)]
mod tests {
    use super::check_stop_signal;

    #[test]
    fn docker_signal_names_and_numbers_pass() {
        for good in [
            "SIGTERM",
            "TERM",
            "sigterm",
            "SIGQUIT",
            "SIGKILL",
            "SIGWINCH",
            "SIGRTMIN",
            "SIGRTMIN+1",
            "SIGRTMIN+15",
            "SIGRTMAX",
            "SIGRTMAX-1",
            "RTMAX-14",
            "9",
            "1",
            "64",
        ] {
            assert_eq!(check_stop_signal(good), Ok(()), "{good}");
        }
    }

    #[test]
    fn anything_else_is_refused_saying_what_to_write() {
        for bad in [
            "SIGFOO",
            "",
            "SIG",
            "0",
            "65",
            "-9",
            "+9",
            "RTMIN+16",
            "RTMIN+0",
            "RTMIN+01",
            "RTMAX-15",
            "RTMAX+1",
            "RTMIN++5",
            "SIGTERM ",
            "9s",
            "SIGSIGTERM",
        ] {
            let e = check_stop_signal(bad).expect_err(bad);
            assert_eq!(
                e,
                format!("{bad:?} is not a signal: write a name like \"SIGTERM\" or \"SIGQUIT\", or a number from 1 to 64")
            );
        }
    }
}
