//! The weave flags, each declared once with its help text, in groups a subcommand takes
//! whole. argh cannot flatten one struct into another, so [`subcommand!`] writes the flags
//! of the named groups into the subcommand's own struct (so `--help` lists them) and gives
//! it one method per group returning the group as a value:
//!
//! - `bridge`: `--bridge --no-firewall` → `bridge_flags()`, a [`BridgeFlags`];
//! - `weave`: `--attach`, the bridge group, `--waiter --volume-container --label
//!   --no-events` → `weave_flags()`, a [`WeaveFlags`];
//! - `image`: `--image` → the field `image`.

use crate::attach::BackendSpec;
use crate::policy::Scope;

/// `--bridge --no-firewall`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BridgeFlags {
    /// The Linux bridge of the bridge backend.
    pub bridge: String,
    /// Add the iptables FORWARD rule when creating the bridge (not `--no-firewall`).
    pub firewall: bool,
}

/// The flags of a subcommand that rewrites and attaches (`adapter`, `launch`, `proxy`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeaveFlags {
    /// `--attach`.
    pub attach: BackendSpec,
    /// `--bridge --no-firewall`.
    pub bridge: BridgeFlags,
    /// `--waiter`.
    pub waiter: String,
    /// `--volume-container`.
    pub volume_container: String,
    /// `--label` (unset: every container).
    pub scope: Scope,
    /// Follow Docker events and catch up on start-up (not `--no-events`).
    pub events: bool,
}

/// Declares a subcommand's argument struct: its own fields, then the flags of the groups
/// named after `with` (see the module doc).
///
/// ```text
/// subcommand! {
///     /// Help of the subcommand.
///     #[derive(FromArgs, Debug)]
///     #[argh(subcommand, name = "x")]
///     pub struct XArgs { /* own fields */ }
///     with [weave, image]
/// }
/// ```
macro_rules! subcommand {
    (
        $(#[$attr:meta])*
        pub struct $name:ident { $($fields:tt)* }
        with [$($group:ident),*]
    ) => {
        $crate::commands::flags::subcommand!(
            @groups [$(#[$attr])*] $name { $($fields)* } {} [$($group)*]
        );
    };
    (@groups [$($attr:tt)*] $name:ident { $($fields:tt)* } { $($methods:tt)* } []) => {
        $($attr)*
        pub struct $name { $($fields)* }
        impl $name { $($methods)* }
    };
    (@groups $attr:tt $name:ident { $($fields:tt)* } { $($methods:tt)* } [bridge $($rest:ident)*]) => {
        $crate::commands::flags::subcommand!(@groups $attr $name {
            $($fields)*
            /// the Linux bridge the bridge backend plugs containers into (default weave;
            /// created if missing)
            #[argh(option, default = "String::from(\"weave\")")]
            pub bridge: String,
            /// do not add the iptables FORWARD rule when creating the bridge
            #[argh(switch)]
            pub no_firewall: bool,
        } {
            $($methods)*
            /// `--bridge --no-firewall` as a value.
            pub fn bridge_flags(&self) -> $crate::commands::flags::BridgeFlags {
                $crate::commands::flags::BridgeFlags {
                    bridge: self.bridge.clone(),
                    firewall: !self.no_firewall,
                }
            }
        } [$($rest)*]);
    };
    (@groups $attr:tt $name:ident { $($fields:tt)* } { $($methods:tt)* } [weave $($rest:ident)*]) => {
        $crate::commands::flags::subcommand!(@groups $attr $name {
            $($fields)*
            /// attach backend: bridge (default, native), weave, command:<path>, or
            /// network:<docker network>
            #[argh(option, default = "crate::attach::BackendSpec::Bridge")]
            pub attach: $crate::attach::BackendSpec,
        } { $($methods)* } [bridge weave_rest $($rest)*]);
    };
    (@groups $attr:tt $name:ident { $($fields:tt)* } { $($methods:tt)* } [weave_rest $($rest:ident)*]) => {
        $crate::commands::flags::subcommand!(@groups $attr $name {
            $($fields)*
            /// path of the waiter in containers (default /home/weavewait/wait-for-weave)
            #[argh(option, default = "crate::policy::rewrite::DEFAULT_WAITER.to_string()")]
            pub waiter: String,
            /// volume container carrying the waiter (default weavewait)
            #[argh(option, default = "crate::policy::rewrite::DEFAULT_VOLUME_CONTAINER.to_string()")]
            pub volume_container: String,
            /// only rewrite and attach containers carrying this key=value label
            #[argh(option)]
            pub label: Option<$crate::policy::Scope>,
            /// do not follow Docker events nor attach waiting containers at start-up
            #[argh(switch)]
            pub no_events: bool,
        } {
            $($methods)*
            /// The weave flags as a value.
            pub fn weave_flags(&self) -> $crate::commands::flags::WeaveFlags {
                $crate::commands::flags::WeaveFlags {
                    attach: self.attach.clone(),
                    bridge: self.bridge_flags(),
                    waiter: self.waiter.clone(),
                    volume_container: self.volume_container.clone(),
                    scope: self.label.clone().unwrap_or_default(),
                    events: !self.no_events,
                }
            }
        } [$($rest)*]);
    };
    (@groups $attr:tt $name:ident { $($fields:tt)* } { $($methods:tt)* } [image $($rest:ident)*]) => {
        $crate::commands::flags::subcommand!(@groups $attr $name {
            $($fields)*
            /// image the volume container is created from when it is missing (default
            /// weavewait:latest)
            #[argh(option, default = "crate::commands::launch::DEFAULT_IMAGE.to_string()")]
            pub image: String,
        } { $($methods)* } [$($rest)*]);
    };
}

pub(crate) use subcommand;
