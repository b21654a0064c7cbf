//! End-to-end tests of `powerstrip-weave proxy` with the vanilla docker CLI: pass-through, the weave hooks, TLS, chained adapters, the demo.

mod adapters;
mod bounds;
mod burst;
mod cli;
mod daemon_restart;
mod demo;
mod ending;
mod fixture;
mod followers;
mod frozen;
mod killed;
mod reach;
mod routes;
mod shipped;
mod startup;
mod stream;
mod tls;
mod weave;
