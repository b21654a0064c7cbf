//! The create decision (docs/design.md §3, §4): what becomes of one
//! `POST /containers/create` body. Every rule is here, in this order:
//!
//! 1. A body that is not JSON, out of the `--label` scope ([`super::scope`]), without a
//!    `WEAVE_CIDR` entry or with `none` ([`super::asks`]) is passed through byte for byte:
//!    no attach follows for it. So is one whose NetworkMode shares another namespace
//!    (`host`, `container:…`), with a warning saying its `WEAVE_CIDR` is ignored. The body
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
//! 6. With the `network:NAME` backend ([`super::network`], docs/design.md §10): a container
//!    with `--network none` is refused (Docker cannot connect it), so is more than one item,
//!    a network that cannot be inspected, and an item the network cannot give (outside its
//!    subnets, another prefix, its gateway, `net:S` narrower than what Docker allocates
//!    from). Every body rewritten for this backend tells the waiter to find its interface by
//!    address (and, for a default allocation, the network's subnets), unless the create
//!    sets those variables itself.
//! 7. With a backend that gives each address one holder ([`Policy::segment`]), an exact
//!    address a running container on the segment holds is refused, naming that container
//!    ([`super::claims`]).
//!
//! A front-end that can answer with an error maps a [`Refusal`] to a Docker-shaped answer;
//! one that cannot (powerstrip) sends [`Refusal::instead`]: the original body, so Docker
//! answers the same error itself, or the rewritten one, so the waiter refuses to run the app
//! (invalid `WEAVE_CIDR`) or the failed attach kills it (allocation).
//!
//! Rules 2, 6 and 7 need I/O: [`plan`] decides all it can from the body and returns
//! [`Plan::Inspect`] when the image or the backend's network must be read first;
//! [`Pending::decide`] ends it with what the inspects found ([`Found`]). A rewrite with
//! [`claims_of`] is then checked against Docker's view of the segment, and [`refuse_held`]
//! turns it into rule 7's refusal.

use serde_json::Value;
use weave_cidr::{CidrError, Ipv4Cidr};

use super::allocation::{exact_addresses, AllocationNeeded};
use super::asks::{asks, shared_namespace, Asks, Ignored};
use super::claims::{self, Held};
use super::identity::{self, Identity};
use super::json::{field, field_of, read_body, spellings};
use super::network::{self, NetworkLookup};
use super::rewrite::{self, ImageConfig, RewriteConfig, RewriteError};
use super::Policy;

/// What to do with a create body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Send the client's body unchanged.
    Pass,
    /// Send the client's body unchanged, and tell the client its `WEAVE_CIDR` is ignored and
    /// why: the proxy adds [`Ignored`]'s text to the `Warnings` of Docker's create answer.
    Ignore(Ignored),
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
    /// The `network:NAME` backend's network cannot give what `WEAVE_CIDR` asks, or cannot
    /// connect this container (rule 6).
    DoesNotFitNetwork,
    /// The `network:NAME` backend's network is not there or cannot be inspected.
    NetworkUnreadable,
    /// An exact address is held by another running container on the segment (rule 7).
    AddressHeld,
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

/// What the inspects a [`Pending`] decision asked for found; `None` for one not asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Found {
    /// The inspect of [`Pending::image`].
    pub image: Option<ImageLookup>,
    /// The inspect of [`Pending::network`].
    pub network: Option<NetworkLookup>,
}

impl From<ImageLookup> for Found {
    /// The image alone was asked for.
    fn from(image: ImageLookup) -> Found {
        Found {
            image: Some(image),
            network: None,
        }
    }
}

/// The first step of the decision.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// Decided from the body alone.
    Decided(Decision),
    /// Inspect [`Pending::image`] and [`Pending::network`] where given, then call
    /// [`Pending::decide`].
    Inspect(Pending),
}

/// A decision waiting for the image's config, the network's IPAM config, or both.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    create: Value,
    image: Option<String>,
    network: Option<String>,
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
    let asked = match asked(&create, policy) {
        Asks::Nothing => return Plan::Decided(Decision::Pass),
        Asks::Ignored(ignored) => return Plan::Decided(Decision::Ignore(ignored)),
        asked => asked,
    };
    let image = rewrite::image_needed(&create);
    // An invalid WEAVE_CIDR is refused whatever the network says.
    let network = match asked {
        Asks::Attach { .. } => policy.network.clone(),
        Asks::Invalid(_) | Asks::Ignored(_) | Asks::Nothing => None,
    };
    if image.is_none() && network.is_none() {
        return Plan::Decided(finish(create, asked, None, None, policy));
    }
    Plan::Inspect(Pending {
        create,
        image,
        network,
        asked,
    })
}

impl Pending {
    /// The image to inspect, as named in the body's `Image`, when the merge needs it.
    pub fn image(&self) -> Option<&str> {
        self.image.as_deref()
    }

    /// The Docker network to inspect (the `network:NAME` backend's), when the decision
    /// needs its IPAM config.
    pub fn network(&self) -> Option<&str> {
        self.network.as_deref()
    }

    /// Ends the decision with what the inspects found.
    pub fn decide(self, found: impl Into<Found>, policy: &Policy) -> Decision {
        let found = found.into();
        let image = self.image.as_deref().unwrap_or("");
        let config = match found.image {
            Some(ImageLookup::Found(config)) => Some(config),
            // Docker's own answer for a missing image: the CLI pulls, then retries.
            Some(ImageLookup::Missing) => {
                return refuse_as_is(
                    self.asked,
                    RefusalKind::NoSuchImage,
                    format!("No such image: {image}"),
                )
            }
            Some(ImageLookup::Failed(why)) => {
                return refuse_as_is(
                    self.asked,
                    RefusalKind::ImageUnreadable,
                    format!("cannot inspect image {image}: {why}"),
                )
            }
            None => None,
        };
        finish(
            self.create,
            self.asked,
            config.as_ref(),
            found.network.as_ref(),
            policy,
        )
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
        asks(env.filter_map(Value::as_str), None) != Asks::Nothing
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
    let shared = match mode {
        None | Some(Value::Null) => None,
        Some(Value::String(m)) => shared_namespace(Some(m)),
        // A type the daemon refuses: the create fails whatever is sent, so Docker's words
        // will do, but an invalid WEAVE_CIDR is named first (rule 4), as for a HostConfig
        // of another type.
        Some(_) => {
            return match asks(env, None) {
                invalid @ Asks::Invalid(_) => invalid,
                _ => Asks::Nothing,
            }
        }
    };
    asks(env, shared)
}

/// Rules 3 to 6, once the image and the network (if needed) are known.
fn finish(
    create: Value,
    asked: Asks,
    image: Option<&ImageConfig>,
    network: Option<&NetworkLookup>,
    policy: &Policy,
) -> Decision {
    let mode_none = network_mode(&create) == Some("none");
    let rewritten = rewrite::rewrite(create, image, &policy.rewrite)
        .and_then(|body| with_identity(body, &policy.identity));
    let body = match rewritten {
        Ok(body) => body,
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
                Asks::Ignored(ignored) => Decision::Ignore(ignored),
                Asks::Attach { .. } | Asks::Nothing => Decision::Pass,
            }
        }
    };
    let text = |body: &Value| format!("{body}\n");
    match asked {
        Asks::Invalid(e) => invalid(e, Instead::Rewritten(text(&body))),
        Asks::Attach { value, items } if !policy.allocates && exact_addresses(&items).is_none() => {
            let message = AllocationNeeded {
                value,
                backend: policy.backend,
            };
            Decision::Refuse(Refusal {
                kind: RefusalKind::NeedsAllocation,
                message: message.to_string(),
                instead: Instead::Rewritten(text(&body)),
            })
        }
        Asks::Attach { value, items } => match &policy.network {
            Some(name) => on_network(body, mode_none, &value, &items, name, network),
            None => Decision::Rewrite(text(&body)),
        },
        Asks::Ignored(ignored) => Decision::Ignore(ignored),
        Asks::Nothing => Decision::Pass,
    }
}

/// `HostConfig.NetworkMode` of a create body, when it is a string.
fn network_mode(create: &Value) -> Option<&str> {
    field_of(create, "HostConfig")
        .and_then(|hc| field_of(hc, "NetworkMode"))
        .and_then(Value::as_str)
}

/// Rule 6: the rewritten `body` of a create asking for `items` (`value` as written) with
/// the backend connecting to network `name`, which `lookup` found (or not).
fn on_network(
    mut body: Value,
    mode_none: bool,
    value: &str,
    items: &[weave_cidr::CidrItem],
    name: &str,
    lookup: Option<&NetworkLookup>,
) -> Decision {
    let facts = match lookup {
        Some(NetworkLookup::Found(facts)) => Some(facts),
        _ => None,
    };
    let want = network::want_of(value, items, name);
    // Whatever is decided, a container created from this body waits by address: with
    // `ethwe`, the interface Docker names ethN on engines before 28, it would never run.
    rewrite::add_env(&mut body, &network::waiter_env(want.as_ref().ok(), facts));
    let text = format!("{body}\n");
    let refuse = |kind, message: String| {
        Decision::Refuse(Refusal {
            kind,
            message,
            instead: Instead::Rewritten(text.clone()),
        })
    };
    if mode_none {
        return refuse(
            RefusalKind::DoesNotFitNetwork,
            format!(
                "the network:{name} backend connects a container to {name} beside its own \
                 network, which Docker refuses for --network none: leave --network none out"
            ),
        );
    }
    if let Err(unfit) = want {
        return refuse(RefusalKind::DoesNotFitNetwork, unfit.to_string());
    }
    match (lookup, facts) {
        (_, Some(facts)) => match network::fit(value, items, facts) {
            Ok(_) => Decision::Rewrite(text),
            Err(unfit) => refuse(RefusalKind::DoesNotFitNetwork, unfit.to_string()),
        },
        (Some(NetworkLookup::Missing), None) => refuse(
            RefusalKind::NetworkUnreadable,
            format!(
                "network {name} is not known to this Docker host: create it (docker network \
                 create …; on a swarm, an --attachable overlay), or serve another network \
                 with --attach network:NAME"
            ),
        ),
        (Some(NetworkLookup::Failed(why)), None) => refuse(
            RefusalKind::NetworkUnreadable,
            format!("cannot inspect network {name}: {why}"),
        ),
        (_, None) => refuse(
            RefusalKind::NetworkUnreadable,
            format!("network {name} was not inspected"),
        ),
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
        Asks::Ignored(ignored) => Decision::Ignore(ignored),
        Asks::Nothing => Decision::Pass,
        Asks::Attach { .. } => Decision::Refuse(Refusal {
            kind,
            message,
            instead: Instead::Original,
        }),
    }
}

/// Rule 6, once `decision` is known: the exact addresses the container it creates will hold,
/// which must be free on [`Policy::segment`]. Empty unless the decision is a rewrite and the
/// policy has a segment.
pub fn claims_of(decision: &Decision, policy: &Policy) -> Vec<Ipv4Cidr> {
    let (Decision::Rewrite(text), Some(_)) = (decision, &policy.segment) else {
        return Vec::new();
    };
    let Ok(body) = serde_json::from_str::<Value>(text) else {
        return Vec::new();
    };
    let env = field_of(&body, "Env")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str);
    let mode = field_of(&body, "HostConfig")
        .and_then(|hc| field_of(hc, "NetworkMode"))
        .and_then(Value::as_str);
    claims::claims(env, mode)
}

/// Rule 6's refusal of `decision` (a rewrite): `held` names the address and its holder.
/// Without errors, the rewritten body is sent: the attach at start refuses it again and
/// stops the container.
pub fn refuse_held(decision: Decision, held: &Held) -> Decision {
    match decision {
        Decision::Rewrite(body) => Decision::Refuse(Refusal {
            kind: RefusalKind::AddressHeld,
            message: held.to_string(),
            instead: Instead::Rewritten(body),
        }),
        other => other,
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
