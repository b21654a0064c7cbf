//! What a path names at run time, through the image's own entries and symlinks, and the
//! config checks built on it: the program Docker runs must be executable, and `WorkingDir`
//! and `Volumes` must not be files. Paths the image does not hold are fine (a volume or a
//! bind mount may bring them); only what the image itself contradicts is refused.

use std::collections::{BTreeMap, BTreeSet};

use super::{Config, Entry, EntryKind};

/// Linux gives up after 40 symlinks in one lookup (ELOOP); so do we.
const MAX_SYMLINK_HOPS: usize = 40;

/// Follows `path` (absolute or relative to the root) through `entries` as the kernel would
/// at run time, the last component included. Returns the entry it names, or `None` when
/// the image does not hold it (a dangling link, a link leaving the image, the root itself).
///
/// Errors: more than [`MAX_SYMLINK_HOPS`] links, a loop or not (see `too_many_links`).
pub(super) fn follow<'a>(
    entries: &'a BTreeMap<String, Entry>,
    path: &str,
) -> Result<Option<&'a Entry>, String> {
    let mut resolved: Vec<String> = Vec::new();
    let mut pending: Vec<String> = path.split('/').rev().map(String::from).collect();
    let mut chain: Vec<String> = Vec::new();
    while let Some(component) = pending.pop() {
        match component.as_str() {
            "" | "." => continue,
            ".." => {
                resolved.pop();
                continue;
            }
            _ => resolved.push(component),
        }
        let here = resolved.join("/");
        match entries.get(&here).map(|e| &e.kind) {
            Some(EntryKind::Symlink { target }) => {
                chain.push(format!("/{here} -> {target}"));
                if chain.len() > MAX_SYMLINK_HOPS {
                    return Err(too_many_links(&chain));
                }
                resolved.pop();
                if target.starts_with('/') {
                    resolved.clear();
                }
                pending.extend(target.split('/').rev().map(String::from));
            }
            Some(_) => {}
            // Not in the image: the rest cannot loop back through our entries.
            None => return Ok(None),
        }
    }
    Ok(entries.get(&resolved.join("/")))
}

/// The message for a lookup that met more than [`MAX_SYMLINK_HOPS`] links: the loop it
/// went round (`symlink loop: /a -> b, /b -> a, …`), or a chain too long for Linux; at
/// most four links are shown.
fn too_many_links(chain: &[String]) -> String {
    let mut seen = BTreeSet::new();
    let distinct = chain
        .iter()
        .take_while(|hop| seen.insert(hop.as_str()))
        .count();
    let shown = |hops: &[String]| {
        let mut text = hops[..hops.len().min(4)].join(", ");
        text.push_str(", …");
        text
    };
    if distinct < chain.len() {
        let more = if distinct > 4 {
            format!(" ({distinct} links)")
        } else {
            String::new()
        };
        format!("symlink loop: {}{more}", shown(&chain[..distinct]))
    } else {
        format!(
            "more than {MAX_SYMLINK_HOPS} symlinks in a row, where Linux gives up (ELOOP): {}: link to the end of the chain directly",
            shown(chain)
        )
    }
}

/// Checks `config` against the image's `entries` (validated, loop-free):
/// - the program Docker runs, `Entrypoint[0]` (else `Cmd[0]`), when absolute and in the
///   image, is a file with an execute bit: a missing `mode = "0755"` gives
///   `exec: permission denied` only at `docker run`;
/// - `WorkingDir` and every volume, when in the image, are directories: Docker refuses
///   to start the container otherwise (`Cannot mkdir: … is not a directory`).
///
/// Errors: `(entry, message)`, e.g. `("config.Entrypoint[0] \"/app\"", "files[0] … has mode
/// 0644, which nobody may execute: give it mode = \"0755\"")`.
pub(super) fn check_config(
    config: &Config,
    entries: &BTreeMap<String, Entry>,
) -> Result<(), (String, String)> {
    let program = match (&config.entrypoint, &config.cmd) {
        (Some(e), _) if !e.is_empty() => Some(("Entrypoint", &e[0])),
        (_, Some(c)) if !c.is_empty() => Some(("Cmd", &c[0])),
        _ => None,
    };
    if let Some((field, program)) = program.filter(|(_, p)| p.starts_with('/')) {
        let entry = format!("config.{field}[0] {program:?}");
        match follow(entries, program).map_err(|m| (entry.clone(), m))? {
            Some(Entry {
                kind: EntryKind::File { mode, .. },
                origin,
                ..
            }) if mode & 0o111 == 0 => {
                return Err((
                    entry,
                    format!(
                        "{origin} has mode {mode:04o}, which nobody may execute: give it mode = \"0755\""
                    ),
                ))
            }
            Some(Entry {
                kind: EntryKind::Dir { .. },
                origin,
                ..
            }) => {
                return Err((
                    entry,
                    format!("{origin} is a directory, not a program: name the program in it"),
                ))
            }
            _ => {}
        }
    }
    let dirs = config
        .working_dir
        .iter()
        .map(|w| ("config.WorkingDir", w))
        .chain(config.volumes.iter().map(|v| ("config.Volumes", v)));
    for (field, path) in dirs {
        let entry = format!("{field} {path:?}");
        if let Some(Entry {
            kind: EntryKind::File { .. },
            origin,
            ..
        }) = follow(entries, path).map_err(|m| (entry.clone(), m))?
        {
            return Err((
                entry,
                format!("{origin} is a file: Docker needs a directory here (it refuses to start the container)"),
            ));
        }
    }
    Ok(())
}
