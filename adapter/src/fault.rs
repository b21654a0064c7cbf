//! A test-only fault hook: with `POWERSTRIP_WEAVE_PANIC_ON=<word>` in its environment, a
//! debug build panics in the connection task of a request whose target contains `<word>`,
//! and in the attach task of a container whose id or name contains it, so a test can show
//! that the process contains the panic and serves on (adapter/tests/panic.rs). Release
//! builds compile every call to nothing: the shipped binary has no such hook.

/// Where a fault can be injected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Point {
    /// Serving one HTTP request (`subject`: its request target).
    Request,
    /// Attaching one container (`subject`: its id or name).
    Attach,
}

/// Panics when the fault hook is set for `subject` at `point`.
#[cfg(debug_assertions)]
pub fn inject(point: Point, subject: &str) {
    if let Some(word) = std::env::var_os("POWERSTRIP_WEAVE_PANIC_ON") {
        let word = word.to_string_lossy();
        if !word.is_empty() && subject.contains(word.as_ref()) {
            panic!("injected fault: {point:?} of {subject}");
        }
    }
}

/// Release builds: nothing.
#[cfg(not(debug_assertions))]
#[inline(always)]
pub fn inject(_point: Point, _subject: &str) {}
