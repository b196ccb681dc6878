//! The integration tests, as one binary: they drive the real `wildside-tofu`, tofu, OpenBao, PostgreSQL, an S3
//! server and the DigitalOcean sandbox, each module a subject.

mod support;

mod actions;
mod adoption;
mod approval;
mod attestation;
mod bad_input;
mod bootstrap;
mod ci;
mod concurrency;
mod conventions;
mod cost;
mod encryption;
mod first_environment;
mod gate;
mod gitops;
mod gitops_build;
mod json_reports;
mod lifecycle;
mod lock_files;
mod mirror;
mod module_rules;
mod parsers;
mod platform;
mod policy_cli;
mod policy_rules;
mod preview;
mod preview_race;
mod raw_output;
mod release;
mod render;
mod sandbox_appliance;
mod sandbox_classes;
mod sandbox_contract;
mod sandbox_godo;
mod sandbox_kube;
mod sandbox_provider;
mod sandbox_serve;
mod saved_plans;
mod secrets;
mod signals;
mod snapshots;
mod vault;
mod vault_tls;
mod workflows;
