//! The volume container that carries the waiter (docs/design.md §3 rule 5): created at
//! start-up when missing (`launch`, `proxy`), and checked before anything is served: app
//! containers get only its volumes (`--volumes-from`), so the waiter must be an executable
//! file inside one of them, or every rewritten container would fail to start.

use std::path::Path;

use anyhow::Context;

use bollard::models::ContainerCreateBody;
use bollard::query_parameters::{ContainerArchiveInfoOptionsBuilder, CreateContainerOptions};

use crate::docker::{self, Daemon};

/// How to make volume container `name` by hand, for messages: from the shipped image.
pub fn how_to_create(name: &str) -> String {
    format!("docker create --name {name} weavewait:latest")
}

/// Ensures the volume container `name` exists, creating it from `image` when missing.
/// Returns whether it was created.
///
/// Errors: the image is absent ("run make load"), or Docker refuses the create.
pub async fn ensure(docker: &Daemon, name: &str, image: &str) -> anyhow::Result<bool> {
    if docker::container_facts(docker, name).await?.is_some() {
        return Ok(false);
    }
    if docker::image_config(docker, image).await?.is_none() {
        anyhow::bail!(
            "image {image} is not present: run `make load` (or `docker load -i target/images/weavewait.tar`) first"
        );
    }
    let body = ContainerCreateBody {
        image: Some(image.to_string()),
        ..Default::default()
    };
    let opts = CreateContainerOptions {
        name: Some(name.to_string()),
        ..Default::default()
    };
    match docker.call(docker.create_container(Some(opts), body)).await {
        Ok(_) => Ok(true),
        // Created meanwhile by another launch.
        Err(e) if e.status() == Some(409) => Ok(false),
        Err(e) => Err(anyhow::anyhow!(
            "cannot create volume container {name} from {image}: {e}"
        )),
    }
}

/// Start-up of `launch` and `proxy`: ensures volume container `name` (created from
/// `image` when missing) and checks that it carries the waiter at `waiter`. A container
/// just created that fails the check is removed again: nothing is left behind.
///
/// Errors: those of [`ensure`]; a waiter problem ([`check_waiter`]), naming the flag to
/// fix (`--image` for a container just made, `--volume-container` for one found).
pub async fn prepare(docker: &Daemon, name: &str, image: &str, waiter: &str) -> anyhow::Result<()> {
    let created = ensure(docker, name, image)
        .await
        .with_context(|| format!("--volume-container {name}"))?;
    if created {
        tracing::info!(container = %name, image = %image, "created the volume container");
    }
    let Err(problem) = check_waiter(docker, name, waiter).await else {
        return Ok(());
    };
    if created {
        let opts = bollard::query_parameters::RemoveContainerOptions {
            force: true,
            v: true,
            ..Default::default()
        };
        let _ = docker.call(docker.remove_container(name, Some(opts))).await;
        anyhow::bail!(
            "--image {image} does not carry the waiter: {problem}; give an image that has it \
             at {waiter} in a VOLUME, such as weavewait:latest (`make load`); the volume \
             container made from it was removed"
        );
    }
    Err(found_problem(name, problem))
}

/// The start-up error for volume container `name` found with `problem`, with the fix.
pub fn found_problem(name: &str, problem: Problem) -> anyhow::Error {
    match problem {
        Problem::NoContainer => anyhow::anyhow!(
            "--volume-container {name}: {problem}; it carries the waiter that every \
             rewritten container runs first: create it ({})",
            how_to_create(name)
        ),
        Problem::Docker(_) => anyhow::anyhow!("--volume-container {name}: {problem}"),
        _ => anyhow::anyhow!(
            "--volume-container {name}: {problem}: remove it (docker rm {name}) and create it \
             from the weavewait image ({}), or give --waiter the path of the waiter in it",
            how_to_create(name)
        ),
    }
}

/// What is wrong with the waiter of a volume container.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// No such container.
    #[error("no such container")]
    NoContainer,
    /// Docker failed to answer.
    #[error("cannot ask Docker about it: {0}")]
    Docker(String),
    /// No volume of the container holds the waiter's path.
    #[error("no volume holds {waiter} (its volumes: {volumes}), so containers would not see it")]
    NotInVolume {
        /// The waiter path.
        waiter: String,
        /// Its volumes' destinations, comma-separated, or `none`.
        volumes: String,
    },
    /// Nothing at the path.
    #[error("there is no {0} in it")]
    Missing(String),
    /// Something else than an executable file at the path.
    #[error("{waiter} in it is {what}")]
    Mode {
        /// The waiter path.
        waiter: String,
        /// What it is instead.
        what: &'static str,
    },
}

/// Checks that volume container `name` carries the waiter at `waiter`: one of its volumes
/// holds the path (`Mounts[].Destination`), and Docker's stat of the path through the
/// container (`HEAD /containers/{name}/archive?path=…`, which reads its volumes) finds an
/// executable file.
///
/// Errors: what [`Problem`] lists.
pub async fn check_waiter(docker: &Daemon, name: &str, waiter: &str) -> Result<(), Problem> {
    let inspect = docker.inspect_container(
        name,
        None::<bollard::query_parameters::InspectContainerOptions>,
    );
    let c = match docker.call(inspect).await {
        Ok(c) => c,
        Err(e) if e.is_not_found() => return Err(Problem::NoContainer),
        Err(e) => return Err(Problem::Docker(e.to_string())),
    };
    let volumes: Vec<String> = c
        .mounts
        .unwrap_or_default()
        .into_iter()
        .filter_map(|m| m.destination)
        .collect();
    if !volumes.iter().any(|v| Path::new(waiter).starts_with(v)) {
        return Err(Problem::NotInVolume {
            waiter: waiter.to_string(),
            volumes: if volumes.is_empty() {
                "none".to_string()
            } else {
                volumes.join(", ")
            },
        });
    }
    let opts = ContainerArchiveInfoOptionsBuilder::default()
        .path(waiter)
        .build();
    let stat = match docker
        .call(docker.get_container_archive_info(name, Some(opts)))
        .await
    {
        Ok(stat) => stat,
        Err(e) if e.is_not_found() => return Err(Problem::Missing(waiter.to_string())),
        Err(e) => return Err(Problem::Docker(e.to_string())),
    };
    match mode_problem(stat.file_mode) {
        None => Ok(()),
        Some(what) => Err(Problem::Mode {
            waiter: waiter.to_string(),
            what,
        }),
    }
}

/// What is wrong with a waiter whose Go `os.FileMode` (Docker's path stat) is `mode`, if
/// anything: it must be a regular file (a symlink is followed when run) with an execute
/// bit.
fn mode_problem(mode: u32) -> Option<&'static str> {
    const DIR: u32 = 1 << 31;
    const SYMLINK: u32 = 1 << 27;
    // ModeDir | ModeSymlink | ModeNamedPipe | ModeSocket | ModeDevice | ModeCharDevice |
    // ModeIrregular.
    const TYPE: u32 = DIR | SYMLINK | 1 << 25 | 1 << 24 | 1 << 26 | 1 << 21 | 1 << 19;
    match mode & TYPE {
        0 if mode & 0o111 == 0 => Some("not executable"),
        0 | SYMLINK => None,
        DIR => Some("a directory"),
        _ => Some("not a regular file"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_waiter_must_be_an_executable_file() {
        assert_eq!(mode_problem(0o755), None);
        assert_eq!(mode_problem(0o500), None);
        assert_eq!(mode_problem(1 << 27 | 0o777), None);
        assert_eq!(mode_problem(0o644), Some("not executable"));
        assert_eq!(mode_problem(1 << 31 | 0o755), Some("a directory"));
        assert_eq!(mode_problem(1 << 25 | 0o755), Some("not a regular file"));
    }
}
