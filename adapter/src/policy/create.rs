//! The create decision (docs/design.md §3, §4): what becomes of one
//! `POST /containers/create` body. Every rule is here, in this order:
//!
//! 1. A body that is not JSON, out of the `--label` scope ([`super::scope`]), without a
//!    `WEAVE_CIDR` entry, with `none`, or with a NetworkMode we leave alone
//!    ([`super::asks`]) is passed through byte for byte: no attach follows for it. The body
//!    is read as the daemon reads it ([`super::json`]).
//!
//!    A body that names a field the decision reads under several spellings (`Env` and
//!    `env`), which the daemon merges, is refused when any of its `Env` spellings asks for
//!    `ethwe`: what the container would ask for cannot be told. Otherwise it passes.
//! 2. When the request's Entrypoint is empty the image's config is read (Docker's merge
//!    rule 1): a missing image is refused with Docker's own 404 words, so the CLI pulls and
//!    retries, and the retry is decided again.
//! 3. The rewrite ([`super::rewrite`]); "No command specified" is refused in Docker's words.
//!    The rewritten body records the attach settings in its labels ([`super::identity`]).
//! 4. A `WEAVE_CIDR` outside the grammar is refused whatever else is true, naming the value.
//! 5. An allocation asked of a backend that cannot allocate is refused ([`super::allocation`]).
//!
//! A front-end that can answer with an error maps a [`Refusal`] to a Docker-shaped answer;
//! one that cannot (powerstrip) sends [`Refusal::instead`]: the original body, so Docker
//! answers the same error itself, or the rewritten one, so the waiter refuses to run the app
//! (invalid `WEAVE_CIDR`) or the failed attach kills it (allocation).
//!
//! Two steps, because rule 2 needs I/O: [`plan`] decides all it can from the body and
//! returns [`Plan::Inspect`] when the image must be read first; [`Pending::decide`] ends it
//! with what the inspect found.

use serde_json::Value;
use weave_cidr::CidrError;

use super::allocation::{exact_addresses, AllocationNeeded};
use super::asks::{asks, network_mode_is_ours, Asks};
use super::identity::{self, Identity};
use super::json::{field, field_of, read_body, spellings};
use super::rewrite::{self, ImageConfig, RewriteConfig, RewriteError};
use super::Policy;

/// What to do with a create body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Send the client's body unchanged.
    Pass,
    /// Send this body (JSON text ending in a newline) instead.
    Rewrite(String),
    /// Do not let Docker create the container as asked.
    Refuse(Refusal),
}

/// A create the weave hooks must not let through as asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// Which rule refused it.
    pub kind: RefusalKind,
    /// What the docker CLI prints after "Error response from daemon:".
    pub message: String,
    /// What a front-end that cannot answer with an error sends to Docker instead.
    pub instead: Instead,
}

/// Which rule refused a create.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalKind {
    /// `WEAVE_CIDR` is outside the grammar (docs/design.md §4).
    InvalidCidr,
    /// `WEAVE_CIDR` asks for an allocation the backend cannot make.
    NeedsAllocation,
    /// Neither request nor image gives a command (Docker's merge rule 3).
    NoCommand,
    /// The image is not present locally (`GET /images/{name}/json` answered 404).
    NoSuchImage,
    /// The image could not be inspected (the daemon failed to answer).
    ImageUnreadable,
    /// A field the decision reads is given under several spellings (rule 1).
    AmbiguousField,
}

/// The body a front-end without errors sends in place of a refusal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Instead {
    /// The client's body: Docker then refuses or pulls by itself.
    Original,
    /// The rewritten body (JSON text ending in a newline): the container is created but
    /// never runs its app.
    Rewritten(String),
}

/// What the image inspect found (`GET /images/{name}/json`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageLookup {
    /// The image's Entrypoint and Cmd.
    Found(ImageConfig),
    /// 404: not present locally.
    Missing,
    /// Any other failure, in words.
    Failed(String),
}

/// The first step of the decision.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// Decided from the body alone.
    Decided(Decision),
    /// Inspect [`Pending::image`], then call [`Pending::decide`].
    Inspect(Pending),
}

/// A decision waiting for the image's config.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    create: Value,
    image: String,
    asked: Asks,
}

/// Decides what it can from the create `body` (rules 1 and 2 of the module doc).
pub fn plan(body: &[u8], policy: &Policy) -> Plan {
    // Docker answers a body it cannot parse better than we could.
    let Some(create) = read_body(body) else {
        return Plan::Decided(Decision::Pass);
    };
    if let Some(decision) = several_spellings(&create) {
        return Plan::Decided(decision);
    }
    let asked = asked(&create, policy);
    if asked == Asks::Nothing {
        return Plan::Decided(Decision::Pass);
    }
    match rewrite::image_needed(&create) {
        Some(image) => Plan::Inspect(Pending {
            create,
            image,
            asked,
        }),
        None => Plan::Decided(finish(create, asked, None, policy)),
    }
}

impl Pending {
    /// The image to inspect, as named in the body's `Image`.
    pub fn image(&self) -> &str {
        &self.image
    }

    /// Ends the decision with what the inspect of [`Pending::image`] found.
    pub fn decide(self, lookup: ImageLookup, policy: &Policy) -> Decision {
        match lookup {
            ImageLookup::Found(config) => finish(self.create, self.asked, Some(&config), policy),
            // Docker's own answer for a missing image: the CLI pulls, then retries.
            ImageLookup::Missing => refuse_as_is(
                self.asked,
                RefusalKind::NoSuchImage,
                format!("No such image: {}", self.image),
            ),
            ImageLookup::Failed(why) => refuse_as_is(
                self.asked,
                RefusalKind::ImageUnreadable,
                format!("cannot inspect image {}: {why}", self.image),
            ),
        }
    }
}

/// The fields the decision reads or writes, at the top of a create body and in its
/// HostConfig.
const FIELDS: [&str; 6] = ["Entrypoint", "Cmd", "Env", "Image", "Labels", "HostConfig"];
const HOST_CONFIG_FIELDS: [&str; 2] = ["NetworkMode", "VolumesFrom"];

/// The decision on a create that gives one of [`FIELDS`] under several spellings (rule 1),
/// `None` when it gives none so.
fn several_spellings(create: &Value) -> Option<Decision> {
    let obj = create.as_object()?;
    let host = field(obj, "HostConfig").and_then(Value::as_object);
    let (name, keys) = FIELDS
        .iter()
        .map(|name| (name.to_string(), spellings(obj, name)))
        .chain(host.into_iter().flat_map(|hc| {
            HOST_CONFIG_FIELDS
                .iter()
                .map(move |name| (format!("HostConfig.{name}"), spellings(hc, name)))
        }))
        .find(|(_, keys)| keys.len() > 1)?;
    let asks_ethwe = spellings(obj, "Env").iter().any(|key| {
        let env = obj[*key].as_array().into_iter().flatten();
        asks(env.filter_map(Value::as_str), true) != Asks::Nothing
    });
    if !asks_ethwe {
        return Some(Decision::Pass);
    }
    let keys: Vec<String> = keys.iter().map(|k| format!("{k:?}")).collect();
    Some(Decision::Refuse(Refusal {
        kind: RefusalKind::AmbiguousField,
        message: format!(
            "the create gives {name} under several spellings ({}), which the daemon merges, so \
             what the container asks of WEAVE_CIDR cannot be told: give each field once",
            keys.join(", ")
        ),
        instead: Instead::Original,
    }))
}

/// What a create asks for; [`Asks::Nothing`] too when it is out of the label scope
/// (Docker's `Config.Labels` of the body; the image's labels are not seen here, so a scoped
/// adapter acts on containers created with `--label`).
fn asked(create: &Value, policy: &Policy) -> Asks {
    let in_scope = policy.scope.admits(|key| {
        field_of(create, "Labels")
            .and_then(Value::as_object)
            .and_then(|labels| labels.get(key))
            .and_then(Value::as_str)
    });
    if !in_scope {
        return Asks::Nothing;
    }
    let env = field_of(create, "Env")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str);
    let mode = field_of(create, "HostConfig").and_then(|hc| field_of(hc, "NetworkMode"));
    let own_namespace = match mode {
        None | Some(Value::Null) => network_mode_is_ours(None),
        Some(Value::String(m)) => network_mode_is_ours(Some(m)),
        // A type the daemon refuses: the create fails whatever is sent, so Docker's words
        // will do, but an invalid WEAVE_CIDR is named first (rule 4), as for a HostConfig
        // of another type.
        Some(_) => {
            return match asks(env, true) {
                invalid @ Asks::Invalid(_) => invalid,
                Asks::Attach { .. } | Asks::Nothing => Asks::Nothing,
            }
        }
    };
    asks(env, own_namespace)
}

/// Rules 3 to 5, once the image (if needed) is known.
fn finish(create: Value, asked: Asks, image: Option<&ImageConfig>, policy: &Policy) -> Decision {
    let rewritten = rewrite::rewrite(create, image, &policy.rewrite)
        .and_then(|body| with_identity(body, &policy.identity));
    let body = match rewritten {
        Ok(body) => format!("{body}\n"),
        Err(RewriteError::NoCommand) => {
            return refuse_as_is(
                asked,
                RefusalKind::NoCommand,
                RewriteError::NoCommand.to_string(),
            )
        }
        // A field of a type Docker refuses: Docker says so in its own words.
        Err(RewriteError::Malformed { .. } | RewriteError::NeedImage(_)) => {
            return match asked {
                Asks::Invalid(e) => invalid(e, Instead::Original),
                Asks::Attach { .. } | Asks::Nothing => Decision::Pass,
            }
        }
    };
    match asked {
        Asks::Invalid(e) => invalid(e, Instead::Rewritten(body)),
        Asks::Attach { value, items } if !policy.allocates && exact_addresses(&items).is_none() => {
            let message = AllocationNeeded {
                value,
                backend: policy.backend,
            };
            Decision::Refuse(Refusal {
                kind: RefusalKind::NeedsAllocation,
                message: message.to_string(),
                instead: Instead::Rewritten(body),
            })
        }
        Asks::Attach { .. } => Decision::Rewrite(body),
        Asks::Nothing => Decision::Pass,
    }
}

/// Docker's error `message` for a rewritten create, explained when it says the volume
/// container is missing (`No such container: <volume container>`, Docker's words for a
/// `VolumesFrom` entry naming no container): what that container is for and how to make
/// it. `None` for every other message, which reaches the client as Docker wrote it.
pub fn explain_create_error(message: &str, rewrite: &RewriteConfig) -> Option<String> {
    let volume = &rewrite.volume_container;
    let missing = message.strip_prefix("No such container: ")? == volume;
    missing.then(|| {
        format!(
            "{message}: {volume} is the volume container carrying the waiter \
             ({waiter}) that every container with WEAVE_CIDR runs first; create it with \
             `docker create --name {volume} weavewait:latest`, or restart the proxy, which \
             creates it",
            waiter = rewrite.waiter
        )
    })
}

/// Rule 7 of the rewrite (docs/design.md §3): the rewritten `body` records the attach
/// settings in its labels. A `Labels` of a type Docker refuses is malformed.
fn with_identity(mut body: Value, identity: &Identity) -> Result<Value, RewriteError> {
    let Value::Object(obj) = &mut body else {
        return Err(RewriteError::Malformed {
            field: "the body",
            found: super::json::kind(&body),
            expected: "an object",
        });
    };
    match identity::record(obj, identity) {
        Ok(()) => Ok(body),
        Err(identity::LabelsNotAnObject(found)) => Err(RewriteError::Malformed {
            field: "Labels",
            found,
            expected: "null or an object",
        }),
    }
}

/// A refusal decided without a rewritten body, so a front-end without errors sends the
/// original. An invalid `WEAVE_CIDR` is named rather than `kind`: it is wrong whatever the
/// image, and the user must fix it first.
fn refuse_as_is(asked: Asks, kind: RefusalKind, message: String) -> Decision {
    match asked {
        Asks::Invalid(e) => invalid(e, Instead::Original),
        Asks::Nothing => Decision::Pass,
        Asks::Attach { .. } => Decision::Refuse(Refusal {
            kind,
            message,
            instead: Instead::Original,
        }),
    }
}

fn invalid(e: CidrError, instead: Instead) -> Decision {
    Decision::Refuse(Refusal {
        kind: RefusalKind::InvalidCidr,
        message: e.to_string(),
        instead,
    })
}

#[cfg(test)]
mod tests;
