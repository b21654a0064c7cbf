//! End-to-end tests of `powerstrip-weave proxy` with the vanilla docker CLI, docker-compose and the Docker SDK for Python: pass-through, the weave hooks, user-defined networks, one holder per address, TLS, chained adapters, the demo.

mod adapters;
mod cli;
mod compose;
mod demo;
mod docker_py;
mod ending;
mod fixture;
mod followers;
mod holders;
mod reach;
mod shipped;
mod startup;
mod stream;
mod tls;
mod usernets;
mod weave;
