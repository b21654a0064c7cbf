//! Target `create_rewrite`: the create decision (`adapter::policy::create::plan`, then
//! `Pending::decide` with what the image inspect found) and the rewrite under it
//! (`adapter::policy::rewrite::rewrite`), input = a create body, then optionally a NUL and
//! the image's config as JSON, `{"Entrypoint":…,"Cmd":…}` (without it the image has
//! neither).
//!
//! Whether a body is ours is judged on the body as the daemon reads it ([`daemon`]), with
//! the rules of docs/design.md §3 restated here. Every input is decided under two policies
//! (the defaults: `bridge`, every container in scope; and an allocating backend scoped to
//! a label, with a waiter and a volume container of other names). Properties:
//! - no input panics;
//! - a body that is not ours (the daemon reads no object, no `WEAVE_CIDR=` entry in `Env`
//!   or one the grammar reads as `none`, a NetworkMode without a namespace of its own, out
//!   of the label scope) passes through;
//! - a body that names a field the decision reads under several spellings, which the
//!   daemon merges, is refused when any of its `Env` spellings asks for `ethwe`, with a
//!   message naming the field;
//! - a `WEAVE_CIDR` outside the grammar is refused with the grammar's message, whatever
//!   else is true;
//! - otherwise a body of types the daemon accepts is rewritten, or refused for the reasons
//!   §3 lists (no command after the merge; an allocation asked of a backend that cannot
//!   make one), and nothing else;
//! - a rewritten body (also the one a refusal sends in its place) is JSON ending in a
//!   newline whose Entrypoint is the merged one with the waiter in front exactly once,
//!   whose Cmd is the merged one, whose `HostConfig.VolumesFrom` is the original list plus
//!   `<volume container>:ro` when no entry names that container yet, and whose `Labels`
//!   are the original ones with [`ATTACH_LABEL`] set to the policy's attach settings (in
//!   place when the client gave one, last otherwise); every other field, at the top, in
//!   HostConfig and in Labels, keeps its key, its place and its value as JSON text
//!   (numbers as written, unknown fields included);
//! - the decision is idempotent: a rewritten body is decided without the image and gives
//!   itself back (or the same refusal with itself), and the rewrite of a rewritten body is
//!   that body.

pub mod daemon;

use adapter::policy::create::{self, Decision, ImageLookup, Instead, Plan, RefusalKind};
use adapter::policy::identity::ATTACH_LABEL;
use adapter::policy::rewrite::{self, ImageConfig, RewriteConfig};
use adapter::policy::{Identity, Policy, Scope};
use serde_json::{Map, Value};
use weave_cidr::{CidrItem, WeaveCidr};

use daemon::Field;

/// Checks the properties above for one input; panics when one fails.
pub fn check(data: &[u8]) {
    let (body, image) = match data.iter().position(|&b| b == 0) {
        Some(nul) => (&data[..nul], image_config(&data[nul + 1..])),
        None => (data, ImageConfig::default()),
    };
    for policy in policies() {
        check_decision(body, &image, &policy);
    }
    if let Some(value) = daemon::read(body) {
        check_rewrite(value, &image, &RewriteConfig::default());
    }
}

/// The two policies every input is decided under.
fn policies() -> [Policy; 2] {
    [
        Policy::default(),
        Policy {
            rewrite: RewriteConfig {
                waiter: "/w/wait".into(),
                volume_container: "wv".into(),
            },
            scope: Scope::new(Some(("scope".into(), "a".into()))),
            allocates: true,
            backend: "weave",
            identity: Identity::command("/x/attach"),
            network: None,
            segment: None,
        },
    ]
}

/// The image's config from its JSON text; fields of other types read as absent (the
/// daemon's image config always has lists of strings or null).
fn image_config(text: &[u8]) -> ImageConfig {
    let Ok(Value::Object(obj)) = serde_json::from_slice::<Value>(text) else {
        return ImageConfig::default();
    };
    let list = |key: &str| str_slice(obj.get(key)).ok().flatten();
    ImageConfig {
        entrypoint: list("Entrypoint"),
        cmd: list("Cmd"),
    }
}

/// Docker's `StrSlice`: absent or null is nil, a string one item, an array of strings the
/// list; `Err` for anything else (the daemon refuses the body).
fn str_slice(v: Option<&Value>) -> Result<Option<Vec<String>>, ()> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(vec![s.clone()])),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| i.as_str().map(str::to_string).ok_or(()))
            .collect::<Result<_, _>>()
            .map(Some),
        Some(_) => Err(()),
    }
}

/// The whole decision, with `image` as what the inspect found when one is asked for.
fn decide(body: &[u8], image: &ImageConfig, policy: &Policy) -> (Decision, Option<String>) {
    match create::plan(body, policy) {
        Plan::Decided(d) => (d, None),
        Plan::Inspect(pending) => {
            let name = pending
                .image()
                .expect("without a network backend only the image is inspected")
                .to_string();
            let missing = pending.clone().decide(ImageLookup::Missing, policy);
            check_missing_image(&missing, &name);
            (
                pending.decide(ImageLookup::Found(image.clone()), policy),
                Some(name),
            )
        }
    }
}

/// A missing image is refused with Docker's own words (the CLI pulls and retries), or for
/// an invalid `WEAVE_CIDR`, with the grammar's; the original body goes in its place.
fn check_missing_image(d: &Decision, image: &str) {
    let Decision::Refuse(r) = d else {
        panic!("a missing image gives {d:?}");
    };
    assert_eq!(r.instead, Instead::Original, "{r:?}");
    match r.kind {
        RefusalKind::NoSuchImage => assert_eq!(r.message, format!("No such image: {image}")),
        RefusalKind::InvalidCidr => assert!(r.message.starts_with("invalid WEAVE_CIDR ")),
        _ => panic!("a missing image gives {r:?}"),
    }
}

/// What the create asks for, as the rules read the daemon's reading of it.
#[derive(Debug)]
enum Asked<'a> {
    /// Not ours: the decision passes it through.
    Nothing,
    /// Fields the decision reads have several spellings, and one of the `Env` spellings
    /// asks: the field named.
    Ambiguous(&'static str),
    /// The daemon refuses the body itself for a field of the wrong type, so any decision
    /// will do, but for an invalid `WEAVE_CIDR` (`Some`).
    Refused(Option<String>),
    /// A `WEAVE_CIDR` (valid or not) beside a shared network namespace (`host`,
    /// `container:…`): passed through with a warning naming the value.
    Ignored(&'a str),
    /// Ours: the body, and the `WEAVE_CIDR` value and what the grammar makes of it.
    Ours(
        &'a Map<String, Value>,
        &'a str,
        Result<Vec<CidrItem>, String>,
    ),
}

/// Top-level fields the decision reads or writes, and those of HostConfig.
const FIELDS: [&str; 6] = ["Entrypoint", "Cmd", "Env", "Image", "Labels", "HostConfig"];
const HOST_FIELDS: [&str; 2] = ["NetworkMode", "VolumesFrom"];

fn asked<'a>(create: &'a Value, policy: &Policy) -> Asked<'a> {
    let Some(obj) = create.as_object() else {
        return Asked::Nothing;
    };
    if let Some(field) = several(obj) {
        let any_env_asks = daemon::spellings(obj, "Env").any(|env| {
            let entries = env
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str);
            cidr_value(entries).is_some_and(|v| weave_cidr::parse(v) != Ok(WeaveCidr::None))
        });
        return if any_env_asks {
            Asked::Ambiguous(field)
        } else {
            Asked::Nothing
        };
    }
    if let Some((key, value)) = policy.scope.label() {
        let labels = daemon::field(obj, "Labels").value();
        match labels {
            None | Some(Value::Null) => return Asked::Nothing,
            Some(Value::Object(l)) if l.values().all(Value::is_string) => {
                if l.get(key).and_then(Value::as_str) != Some(value) {
                    return Asked::Nothing;
                }
            }
            Some(_) => return Asked::Refused(None),
        }
    }
    let entries = match daemon::field(obj, "Env").value() {
        None | Some(Value::Null) => return Asked::Nothing,
        Some(Value::Array(env)) if env.iter().all(Value::is_string) => env,
        Some(_) => return Asked::Refused(None),
    };
    let Some(value) = cidr_value(entries.iter().filter_map(Value::as_str)) else {
        return Asked::Nothing;
    };
    let parsed = match weave_cidr::parse(value) {
        Ok(WeaveCidr::None) => return Asked::Nothing,
        Ok(WeaveCidr::Attach(items)) => Ok(items),
        Err(e) => Err(e.to_string()),
    };
    let host = daemon::field(obj, "HostConfig").value();
    let mode = match host {
        None | Some(Value::Null) => None,
        Some(Value::Object(hc)) => daemon::field(hc, "NetworkMode").value(),
        Some(_) => return Asked::Refused(parsed.err()),
    };
    match mode {
        None | Some(Value::Null) => {}
        // moby's IsHost and IsContainer, compared exactly: every other mode (user-defined
        // networks too) gives the container a namespace of its own.
        Some(Value::String(m)) if m == "host" || m.starts_with("container:") => {
            return Asked::Ignored(value)
        }
        Some(Value::String(_)) => {}
        Some(_) => return Asked::Refused(parsed.err()),
    }
    Asked::Ours(obj, value, parsed)
}

/// The first field the decision reads that `obj` gives under several spellings.
fn several(obj: &Map<String, Value>) -> Option<&'static str> {
    if let Some(f) = FIELDS
        .into_iter()
        .find(|f| daemon::field(obj, f) == Field::Several)
    {
        return Some(f);
    }
    let hc = daemon::field(obj, "HostConfig").value()?.as_object()?;
    HOST_FIELDS
        .into_iter()
        .find(|f| daemon::field(hc, f) == Field::Several)
}

/// The value of the first `WEAVE_CIDR=` entry (a bare `WEAVE_CIDR` is not one).
fn cidr_value<'a>(mut entries: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    entries.find_map(|e| e.strip_prefix("WEAVE_CIDR="))
}

fn check_decision(body: &[u8], image: &ImageConfig, policy: &Policy) {
    let (decision, inspected) = decide(body, image, policy);
    judge(body, image, policy, &decision, inspected.as_deref());
}

/// Checks `decision`, taken on `body` after inspecting the image `inspected` (if any).
fn judge(
    body: &[u8],
    image: &ImageConfig,
    policy: &Policy,
    decision: &Decision,
    inspected: Option<&str>,
) {
    let reading = daemon::read(body);
    let asked = reading
        .as_ref()
        .map_or(Asked::Nothing, |create| asked(create, policy));
    match asked {
        Asked::Nothing => assert_eq!(*decision, Decision::Pass, "a body that is not ours"),
        Asked::Ignored(value) => match decision {
            Decision::Ignore(i) => assert_eq!(i.value, value, "the ignored value"),
            other => panic!("a WEAVE_CIDR beside a shared namespace gives {other:?}"),
        },
        Asked::Ambiguous(field) => match decision {
            Decision::Refuse(r) => assert!(r.message.contains(field), "{r:?} names {field}"),
            other => panic!("{field} given under several spellings: {other:?}"),
        },
        Asked::Refused(None) => {
            if let Decision::Rewrite(out) = decision {
                let obj = reading
                    .as_ref()
                    .and_then(Value::as_object)
                    .expect("an object");
                check_rewritten(obj, out, image, policy);
            }
        }
        Asked::Refused(Some(ref message)) | Asked::Ours(_, _, Err(ref message)) => {
            let Decision::Refuse(r) = decision else {
                panic!("an invalid WEAVE_CIDR gives {decision:?}");
            };
            assert_eq!(r.kind, RefusalKind::InvalidCidr);
            assert_eq!(r.message, *message, "the grammar's message");
            if let (Instead::Rewritten(out), Asked::Ours(obj, ..)) = (&r.instead, &asked) {
                check_rewritten(obj, out, image, policy);
            }
        }
        Asked::Ours(obj, value, Ok(items)) => {
            if let Some(name) = inspected {
                let want = match daemon::field(obj, "Image").value() {
                    Some(Value::String(s)) => s.as_str(),
                    _ => "",
                };
                assert_eq!(name, want, "the image inspected is the body's");
            }
            check_ours(obj, value, &items, decision, image, policy);
        }
    }
    if let Decision::Rewrite(out)
    | Decision::Refuse(create::Refusal {
        instead: Instead::Rewritten(out),
        ..
    }) = decision
    {
        check_idempotent(out, decision, policy);
    }
}

/// An acceptable `WEAVE_CIDR` in a body that is ours: rewritten, or refused for one of the
/// reasons §3 gives.
fn check_ours(
    obj: &Map<String, Value>,
    value: &str,
    items: &[CidrItem],
    decision: &Decision,
    image: &ImageConfig,
    policy: &Policy,
) {
    let (Some(merged), true) = (merge(obj, image), types_ok(obj)) else {
        // The daemon refuses the body for a field's type: any decision will do.
        if let Decision::Rewrite(out) = decision {
            check_rewritten(obj, out, image, policy);
        }
        return;
    };
    if merged.entrypoint.is_empty() && merged.cmd.as_ref().is_none_or(Vec::is_empty) {
        let Decision::Refuse(r) = decision else {
            panic!("no command, yet {decision:?}");
        };
        assert_eq!(
            (r.kind, r.message.as_str()),
            (RefusalKind::NoCommand, "No command specified")
        );
        assert_eq!(r.instead, Instead::Original);
        return;
    }
    let exact = !items.is_empty() && items.iter().all(|i| matches!(i, CidrItem::Ip(_)));
    match decision {
        Decision::Rewrite(out) => {
            assert!(
                policy.allocates || exact,
                "{value:?} rewritten for a backend that cannot allocate"
            );
            check_rewritten(obj, out, image, policy);
        }
        Decision::Refuse(r) if r.kind == RefusalKind::NeedsAllocation => {
            assert!(!policy.allocates && !exact, "{value:?} refused: {r:?}");
            assert!(
                r.message.contains(&format!("{value:?}")),
                "{r:?} names the value"
            );
            let Instead::Rewritten(out) = &r.instead else {
                panic!("{r:?} sends the original");
            };
            check_rewritten(obj, out, image, policy);
        }
        other => panic!("{value:?}: {other:?}"),
    }
}

/// The merge of request and image (docs/design.md §3 rules 1 to 3), restated.
struct Merged {
    entrypoint: Vec<String>,
    cmd: Option<Vec<String>>,
    /// Cmd was taken from the image.
    cmd_from_image: bool,
}

/// `None` when Entrypoint or Cmd has a type the daemon refuses.
fn merge(obj: &Map<String, Value>, image: &ImageConfig) -> Option<Merged> {
    let mut entrypoint = str_slice(daemon::field(obj, "Entrypoint").value()).ok()?;
    let mut cmd = str_slice(daemon::field(obj, "Cmd").value()).ok()?;
    let mut cmd_from_image = false;
    if entrypoint.as_ref().is_none_or(Vec::is_empty) {
        if cmd.as_ref().is_none_or(Vec::is_empty) {
            cmd = image.cmd.clone();
            cmd_from_image = true;
        }
        if entrypoint.is_none() {
            entrypoint = image.entrypoint.clone();
        }
    }
    let mut entrypoint = entrypoint.unwrap_or_default();
    if entrypoint == [""] {
        entrypoint.clear();
    }
    Some(Merged {
        entrypoint,
        cmd,
        cmd_from_image,
    })
}

/// True when HostConfig is null or an object whose VolumesFrom is null or an array, and
/// Labels is null or an object.
fn types_ok(obj: &Map<String, Value>) -> bool {
    let host = match daemon::field(obj, "HostConfig").value() {
        None | Some(Value::Null) => true,
        Some(Value::Object(hc)) => matches!(
            daemon::field(hc, "VolumesFrom").value(),
            None | Some(Value::Null) | Some(Value::Array(_))
        ),
        Some(_) => false,
    };
    let labels = matches!(
        daemon::field(obj, "Labels").value(),
        None | Some(Value::Null) | Some(Value::Object(_))
    );
    host && labels
}

/// Checks a rewritten body `out` against the object it was made from.
fn check_rewritten(input: &Map<String, Value>, out: &str, image: &ImageConfig, policy: &Policy) {
    let cfg = &policy.rewrite;
    assert!(out.ends_with('\n'), "{out:?} ends in a newline");
    let sent: Value = serde_json::from_str(out).expect("a rewritten body is JSON");
    let sent = sent.as_object().expect("a rewritten body is an object");
    let merged = merge(input, image).expect("rewritten, so of types the daemon accepts");
    assert!(types_ok(input), "rewritten, so of types the daemon accepts");

    let spelled = |name: &'static str| daemon::field(input, name).key().unwrap_or(name);
    let (ep_key, cmd_key, hc_key) = (spelled("Entrypoint"), spelled("Cmd"), spelled("HostConfig"));
    let labels_key = spelled("Labels");
    let owned = [ep_key, cmd_key, hc_key, labels_key];
    keeps_others(input, sent, &owned, "the body");
    check_labels(
        input.get(labels_key),
        sent.get(labels_key),
        &policy.identity,
    );

    let mut want = merged.entrypoint.clone();
    if want.first() != Some(&cfg.waiter) {
        want.insert(0, cfg.waiter.clone());
    }
    assert_eq!(sent.get(ep_key), Some(&strings(&want)), "Entrypoint");
    let waiters = |list: &[String]| list.iter().filter(|s| **s == cfg.waiter).count();
    assert!(
        waiters(&want) <= waiters(&merged.entrypoint) + 1,
        "the waiter is added once at most"
    );
    if merged.cmd_from_image {
        let cmd = merged.cmd.as_deref().map_or(Value::Null, strings);
        assert_eq!(sent.get(cmd_key), Some(&cmd), "Cmd from the image");
    } else {
        assert_eq!(
            text(sent.get(cmd_key)),
            text(input.get(cmd_key)),
            "Cmd kept"
        );
    }

    let empty = Map::new();
    let hc_in = input
        .get(hc_key)
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let hc_out = sent
        .get(hc_key)
        .and_then(Value::as_object)
        .expect("HostConfig is an object");
    let vf_key = daemon::field(hc_in, "VolumesFrom")
        .key()
        .unwrap_or("VolumesFrom");
    keeps_others(hc_in, hc_out, &[vf_key], "HostConfig");
    let vf_in: &[Value] = hc_in
        .get(vf_key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice);
    let vf_out = hc_out
        .get(vf_key)
        .and_then(Value::as_array)
        .expect("VolumesFrom is a list");
    assert!(vf_out.starts_with(vf_in), "VolumesFrom keeps its entries");
    let named = vf_in
        .iter()
        .filter_map(Value::as_str)
        .any(|v| v.split(':').next() == Some(cfg.volume_container.as_str()));
    let added: &[Value] = &vf_out[vf_in.len()..];
    if named {
        assert!(
            added.is_empty(),
            "{added:?} added to a list naming the volume container"
        );
    } else {
        let want = Value::String(format!("{}:ro", cfg.volume_container));
        assert_eq!(added, [want], "VolumesFrom");
    }
}

/// The rewritten Labels `sent` are the original `labels` (null or an object) with
/// [`ATTACH_LABEL`] set to `identity`.
fn check_labels(labels: Option<&Value>, sent: Option<&Value>, identity: &Identity) {
    let empty = Map::new();
    let labels = labels.and_then(Value::as_object).unwrap_or(&empty);
    let sent = sent
        .and_then(Value::as_object)
        .expect("Labels is an object");
    keeps_others(labels, sent, &[ATTACH_LABEL], "Labels");
    assert_eq!(
        sent.get(ATTACH_LABEL).and_then(Value::as_str),
        Some(identity.as_str()),
        "the attach settings are recorded"
    );
}

/// Every key of `input` but `owned` is in `sent` at the same place with the same JSON
/// text; `sent` adds only owned keys, after the others.
fn keeps_others(input: &Map<String, Value>, sent: &Map<String, Value>, owned: &[&str], what: &str) {
    let keys_in: Vec<&String> = input.keys().collect();
    let keys_out: Vec<&String> = sent.keys().collect();
    assert!(
        keys_out.starts_with(&keys_in),
        "{what}: keys {keys_in:?} became {keys_out:?}"
    );
    for added in &keys_out[keys_in.len()..] {
        assert!(owned.contains(&added.as_str()), "{what}: {added:?} added");
    }
    for (key, value) in input {
        if !owned.contains(&key.as_str()) {
            assert_eq!(
                text(sent.get(key)),
                text(Some(value)),
                "{what}: {key:?} kept"
            );
        }
    }
}

/// A value's JSON text (numbers as written), for comparisons byte for byte.
fn text(v: Option<&Value>) -> Option<String> {
    v.map(Value::to_string)
}

fn strings(list: &[String]) -> Value {
    Value::Array(list.iter().cloned().map(Value::String).collect())
}

/// Deciding a rewritten body again needs no image and gives it back unchanged.
fn check_idempotent(out: &str, first: &Decision, policy: &Policy) {
    let Plan::Decided(again) = create::plan(out.as_bytes(), policy) else {
        panic!("a rewritten body needs the image: {out}");
    };
    match (first, &again) {
        (Decision::Rewrite(_), Decision::Rewrite(body)) => assert_eq!(body, out, "rewritten twice"),
        (Decision::Refuse(a), Decision::Refuse(b)) => assert_eq!(a, b, "refused twice"),
        _ => panic!("{first:?} decided again gives {again:?}"),
    }
}

/// The rewrite alone, on any object: a rewritten object rewrites to itself.
fn check_rewrite(create: Value, image: &ImageConfig, cfg: &RewriteConfig) {
    let Ok(once) = rewrite::rewrite(create, Some(image), cfg) else {
        return;
    };
    let twice = rewrite::rewrite(once.clone(), None, cfg).expect("a rewritten body rewrites");
    assert_eq!(twice.to_string(), once.to_string(), "rewrite is idempotent");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(body: &str, image: &str) -> Vec<u8> {
        [body.as_bytes(), b"\0", image.as_bytes()].concat()
    }

    #[test]
    fn hand_made_inputs() {
        for (body, image) in [
            (
                r#"{"Env":["WEAVE_CIDR=10.2.1.1/24"],"Image":"a","X":1.50}"#,
                r#"{"Cmd":["sh"]}"#,
            ),
            (
                r#"{"Env":["WEAVE_CIDR=net:default"],"Entrypoint":["/a"]}"#,
                "{}",
            ),
            (r#"{"Env":["WEAVE_CIDR=1.2.3.4"],"Entrypoint":[""]}"#, "{}"),
            (
                r#"{"Env":["WEAVE_CIDR=10.2.1.1/24"],"Entrypoint":[""]}"#,
                "{}",
            ),
            (
                r#"{"env":["WEAVE_CIDR=10.2.1.1/24"],"cmd":"x","hostconfig":{"volumesfrom":["weavewait"]}}"#,
                "{}",
            ),
            (
                r#"{"Env":["WEAVE_CIDR=10.2.1.1/24"],"HostConfig":{"NetworkMode":"host"}}"#,
                "{}",
            ),
            (r#"{"Env":["WEAVE_CIDR=10.2.1.1/24"],"HostConfig":5}"#, "{}"),
            (
                r#"{"Env":["WEAVE_CIDR=10.2.1.1/24"],"Labels":{"scope":"a"}}"#,
                r#"{"Entrypoint":"/app"}"#,
            ),
            (r#"[1]"#, ""),
            ("not json", ""),
        ] {
            check(&input(body, image));
        }
    }

    #[test]
    #[should_panic(expected = "a WEAVE_CIDR beside a shared namespace")]
    fn the_check_can_fail() {
        // As if the decision had rewritten a create on the host's network.
        let body = br#"{"Env":["WEAVE_CIDR=10.2.1.1/24"],"Entrypoint":["/a"],"HostConfig":{"NetworkMode":"host"}}"#;
        let policy = Policy::default();
        let (right, _) = decide(body, &ImageConfig::default(), &policy);
        assert!(matches!(right, Decision::Ignore(_)), "{right:?}");
        let wrong = Decision::Rewrite("{}\n".into());
        judge(body, &ImageConfig::default(), &policy, &wrong, None);
    }
}
