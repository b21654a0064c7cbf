//! A panic is a bug, and one bug must not take the service down: each connection and each
//! attach runs in a task of its own, release builds unwind (main.rs refuses to build
//! otherwise), so a panic ends only its task. This module logs it where the operator looks.

use std::any::Any;

/// Logs every panic through `tracing` (ERROR, with where it happened) instead of the
/// default hook's bare stderr line, so it reaches the same log as everything else.
pub fn log_panics() {
    std::panic::set_hook(Box::new(|info| {
        let thread = std::thread::current();
        let location = info
            .location()
            .map_or_else(String::new, |l| format!(" at {l}"));
        tracing::error!(
            thread = thread.name().unwrap_or("unnamed"),
            "panic{location}: {}; the task is ended, the process serves on",
            message(info.payload())
        );
    }));
}

/// The text a panic was raised with (`panic!("…")`), or a placeholder.
pub fn message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_string()
    }
}

/// What ended a joined task: its panic's message, or that it was cancelled.
pub fn join_error(e: tokio::task::JoinError) -> String {
    match e.try_into_panic() {
        Ok(payload) => format!("it panicked: {}", message(payload.as_ref())),
        Err(e) => format!("it was cancelled ({e})"),
    }
}
