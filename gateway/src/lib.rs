//! sluice: an LLM gateway on Pingora. This crate is the binary's body: CLI, config, the
//! Pingora proxy service, the admin service, shutdown. Translation lives in
//! `sluice-providers`, telemetry in `sluice-telemetry`.
#![forbid(unsafe_code)]

pub mod admin;
pub mod auth;
pub mod background;
pub mod balance;
pub mod cli;
pub mod config;
pub mod health;
pub mod limits;
pub mod logger;
pub mod proxy;
pub mod recent;
pub mod server;
pub mod shutdown;
pub mod state;
pub mod store;
pub mod watch;
