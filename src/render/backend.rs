//! The backend configuration file (`backend.tfbackend`) passed to `tofu init -backend-config`.
//!
//! It holds settings only: credentials stay in the environment (`AWS_*` for s3, the named variable for pg), so
//! nothing secret is ever written to disk.

use std::path::Path;

use hcl::{Body, Expression};

use super::format::tofu_style;
use super::paths::relative_path;
use super::value::text;
use crate::stack::Backend;

/// The HCL body of the backend configuration for a root module in `root_dir`. `state_dir` is where local
/// state lives; it is written relative to `root_dir`, so the file is the same on every machine.
pub fn backend_config(backend: &Backend, root_dir: &Path, state_dir: &Path) -> String {
    let mut body = Body::builder();
    match backend {
        Backend::Local { .. } => {
            let dir = relative_path(root_dir, state_dir).unwrap_or_else(|| state_dir.to_path_buf());
            body = body
                .add_attribute((
                    "path",
                    text(&dir.join("terraform.tfstate").display().to_string()),
                ))
                .add_attribute((
                    "workspace_dir",
                    text(&dir.join("workspaces").display().to_string()),
                ));
        }
        Backend::S3 {
            bucket,
            key,
            region,
            endpoint,
            workspace_key_prefix,
            use_lockfile,
            use_path_style,
        } => {
            body = body
                .add_attribute(("bucket", text(bucket)))
                .add_attribute(("key", text(key)))
                .add_attribute(("region", text(region)))
                .add_attribute(("workspace_key_prefix", text(workspace_key_prefix)))
                .add_attribute(("use_lockfile", *use_lockfile))
                .add_attribute(("use_path_style", *use_path_style));
            if let Some(endpoint) = endpoint {
                let endpoints = Expression::Object(
                    [(
                        hcl::ObjectKey::Identifier(hcl::Identifier::unchecked("s3")),
                        text(endpoint),
                    )]
                    .into_iter()
                    .collect(),
                );
                body = body
                    .add_attribute(("endpoints", endpoints))
                    .add_attribute(("skip_credentials_validation", true))
                    .add_attribute(("skip_region_validation", true))
                    .add_attribute(("skip_requesting_account_id", true))
                    .add_attribute(("skip_metadata_api_check", true))
                    .add_attribute(("skip_s3_checksum", true));
            }
        }
        Backend::Pg { schema, .. } => {
            body = body.add_attribute(("schema_name", text(schema)));
        }
    }
    tofu_style(&hcl::format::to_string(&body.build()).unwrap_or_default())
}
