//! wildside-tofu: provision the Wildside platform on DigitalOcean through OpenTofu.
//!
//! The binary (`src/main.rs`) is a thin shell over this library so that the tests can reach every layer:
//! stack files are loaded and validated (`stack`), rendered into an OpenTofu root module (`render`), and run by
//! the engine (`engine`), with commands (`commands`, sharing `run`) producing reports that views (`views`)
//! present.

pub mod backend_probe;
pub mod ci;
pub mod cli;
pub mod commands;
pub mod cost;
pub mod digitalocean;
pub mod dispatch;
pub mod duration;
pub mod encryption;
pub mod engine;
pub mod error;
pub mod gitops;
pub mod hibernation;
pub mod huge_pages;
pub mod modules;
pub mod policy;
pub mod preview;
pub mod private_file;
pub mod project;
pub mod render;
pub mod run;
pub mod settings;
pub mod stack;
pub mod vault;
pub mod views;
