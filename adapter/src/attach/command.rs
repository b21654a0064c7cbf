//! The `command:<path>` backend: runs `<path> attach <cidrs...> <container id>` as argv
//! (never through a shell), the convention of `weave attach`.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use futures::future::BoxFuture;

use super::{AttachError, Backend, Target};
use crate::policy::Identity;

/// Upper bound for one attach command; a hang must fail, not block the container forever.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs an external program to attach.
#[derive(Debug, Clone)]
pub struct Command {
    program: PathBuf,
}

impl Command {
    /// A backend running `program` (looked up in PATH when it has no `/`).
    pub fn new(program: PathBuf) -> Self {
        Command { program }
    }
}

/// The argv after the program: `attach`, the items in Weave spelling (`ip:…`, `net:…`,
/// `net:default`; none for a default allocation), then the full container id.
pub fn args(target: &Target) -> Vec<String> {
    let mut args = vec!["attach".to_string()];
    args.extend(target.items.iter().map(|i| i.to_weave_arg()));
    args.push(target.id.clone());
    args
}

impl Backend for Command {
    fn name(&self) -> &'static str {
        "command"
    }

    fn allocates(&self) -> bool {
        true
    }

    fn identity(&self) -> Identity {
        Identity::command(&self.program.to_string_lossy())
    }

    fn attach<'a>(&'a self, target: &'a Target) -> BoxFuture<'a, Result<(), AttachError>> {
        Box::pin(async move {
            let args = args(target);
            let argv = format!("{} {}", self.program.display(), args.join(" "));
            let fail = |why: String| AttachError::Command {
                target: target.to_string(),
                argv: argv.clone(),
                why,
            };
            let child = tokio::process::Command::new(&self.program)
                .args(&args)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .kill_on_drop(true)
                .spawn()
                .map_err(|e| fail(format!("could not start: {e}")))?;
            let out = tokio::time::timeout(COMMAND_TIMEOUT, child.wait_with_output())
                .await
                .map_err(|_| fail(format!("did not finish in {} s", COMMAND_TIMEOUT.as_secs())))?
                .map_err(|e| fail(format!("could not be waited for: {e}")))?;
            if out.status.success() {
                return Ok(());
            }
            let stderr = String::from_utf8_lossy(&out.stderr);
            Err(fail(format!("failed ({}): {}", out.status, stderr.trim())))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use weave_cidr::{parse, WeaveCidr};

    fn target(cidr: &str) -> Target {
        let WeaveCidr::Attach(items) = parse(cidr).unwrap() else {
            panic!()
        };
        Target {
            id: "abc".into(),
            name: "web-1".into(),
            pid: 1,
            value: cidr.to_string(),
            items,
        }
    }

    #[test]
    fn argv_is_attach_items_then_id() {
        assert_eq!(
            args(&target("10.2.1.1/24 net:default net:10.3.0.0/16")),
            [
                "attach",
                "ip:10.2.1.1/24",
                "net:default",
                "net:10.3.0.0/16",
                "abc"
            ]
        );
        assert_eq!(args(&target("")), ["attach", "abc"]);
    }

    #[tokio::test]
    async fn failure_carries_status_and_stderr() {
        let cmd = Command::new("/bin/sh".into());
        // `/bin/sh attach ...` fails: no script named "attach".
        let err = cmd.attach(&target("10.2.1.1/24")).await.unwrap_err();
        let text = err.to_string();
        assert!(text.contains("/bin/sh attach ip:10.2.1.1/24 abc"), "{text}");
        assert!(text.contains("failed"), "{text}");
        let missing = Command::new("/nonexistent/attach-tool".into());
        let err = missing.attach(&target("")).await.unwrap_err();
        assert!(err.to_string().contains("could not start"), "{err}");
    }

    #[tokio::test]
    async fn success_is_exit_zero() {
        Command::new("/bin/true".into())
            .attach(&target("10.2.1.1/24"))
            .await
            .unwrap();
    }
}
