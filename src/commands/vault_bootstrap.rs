//! `vault bootstrap`: initialise, unseal and configure a fresh Vault or OpenBao (see `vault::bootstrap`).

use super::report::Report;
use crate::error::Error;
use crate::vault::{BootstrapOptions, bootstrap};

pub async fn vault_bootstrap(options: &BootstrapOptions) -> Result<Report, Error> {
    if options.key_threshold == 0 || options.key_threshold > options.key_shares {
        return Err(Error::Usage(format!(
            "--key-threshold {} must be between 1 and --key-shares {}",
            options.key_threshold, options.key_shares
        )));
    }
    Ok(Report::VaultBootstrap(bootstrap(options).await?))
}
