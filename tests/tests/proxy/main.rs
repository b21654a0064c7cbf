//! End-to-end tests of `powerstrip-weave proxy` with the vanilla docker CLI, docker-compose and the Docker SDK for Python: pass-through, the weave hooks, user-defined networks, one holder per address, TLS, chained adapters, the demo.

mod adapters;
mod bounds;
mod burst;
mod cli;
mod compose;
mod daemon_restart;
mod demo;
mod docker_py;
mod ending;
mod fixture;
mod followers;
mod frozen;
mod holders;
mod killed;
mod networks;
mod reach;
mod routes;
mod shipped;
mod startup;
mod stream;
mod tls;
mod usernets;
mod weave;
