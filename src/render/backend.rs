//! The backend configuration file (`backend.tfbackend`) passed to `tofu init -backend-config`.
//!
//! It holds settings only: credentials stay in the environment (`AWS_*` for s3, the named variable for pg), so
//! nothing secret is ever written to disk.

use std::path::Path;

use hcl::{Body, Expression};

use crate::stack::Backend;

/// The HCL body of the backend configuration; `state_dir` is the per-stack directory for local state.
pub fn backend_config(backend: &Backend, state_dir: &Path) -> String {
    let mut body = Body::builder();
    match backend {
        Backend::Local { path } => {
            let dir = path.clone().unwrap_or_else(|| state_dir.to_path_buf());
            body = body
                .add_attribute(("path", dir.join("terraform.tfstate").display().to_string()))
                .add_attribute((
                    "workspace_dir",
                    dir.join("workspaces").display().to_string(),
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
                .add_attribute(("bucket", bucket.as_str()))
                .add_attribute(("key", key.as_str()))
                .add_attribute(("region", region.as_str()))
                .add_attribute(("workspace_key_prefix", workspace_key_prefix.as_str()))
                .add_attribute(("use_lockfile", *use_lockfile))
                .add_attribute(("use_path_style", *use_path_style));
            if let Some(endpoint) = endpoint {
                let endpoints = Expression::Object(
                    [(
                        hcl::ObjectKey::Identifier(hcl::Identifier::unchecked("s3")),
                        Expression::from(endpoint.as_str()),
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
            body = body.add_attribute(("schema_name", schema.as_str()));
        }
    }
    hcl::format::to_string(&body.build()).unwrap_or_default()
}
