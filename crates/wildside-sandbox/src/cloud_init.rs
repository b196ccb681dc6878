//! What cloud-init would do with a droplet's user data, as far as the sandbox acts it out: the files
//! `write_files` writes; the `runcmd` scripts that run under a root directory (those that start with
//! `ROOT="${ROOT:-}"` and put every path under it), run for real with the droplet's directory as their root;
//! the services of the systemd units `write_files` writes (their `ExecStart`); and the server the setup script
//! starts (`<binary> server -config=<file>`), with the config rendered from its template as the script's
//! `sed "s/PLACEHOLDER/$var/g" <template> > <config>` does. What the other scripts do (mount a volume, install
//! a package) the sandbox has no need of: a droplet's directory is its disk and its volume.
//!
//! It reads the user data rather than assuming the `vault_appliance` module's layout, so what runs is what the
//! module configured. User data that is not a `#cloud-config` document, or that starts no server, is not an
//! appliance: the droplet simply has no server.
//!
//! User data may hold secrets (the appliance's enrollment token): errors here name a line and column, never the
//! text.

use serde::Deserialize;

/// Why a droplet's cloud-init could not be acted out.
#[derive(Debug, thiserror::Error)]
pub(super) enum CloudInitError {
    #[error("its cloud-config does not parse as YAML{}", at(.0))]
    Yaml(Option<(usize, usize)>),
    #[error(
        "its setup script renders `{config}` from `{template}`, which `write_files` does not write"
    )]
    MissingTemplate { template: String, config: String },
    #[error("its setup script starts a server with `{config}`, which `write_files` does not write")]
    MissingConfig { config: String },
}

fn at(location: &Option<(usize, usize)>) -> String {
    location.map_or_else(String::new, |(line, column)| {
        format!(" (line {line}, column {column})")
    })
}

/// The part of a cloud-config document the sandbox acts on.
#[derive(Debug, Deserialize)]
struct CloudConfig {
    #[serde(default)]
    write_files: Vec<WriteFile>,
    #[serde(default)]
    runcmd: Vec<RunCommand>,
}

/// One entry of `runcmd`: an argument list, or a line for the shell.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RunCommand {
    Arguments(Vec<String>),
    Shell(String),
}

impl RunCommand {
    fn arguments(&self) -> Vec<String> {
        match self {
            Self::Arguments(arguments) => arguments.clone(),
            Self::Shell(line) => line.split_whitespace().map(str::to_string).collect(),
        }
    }
}

/// The first line (after `#!`, comments and `set` options) of a script that runs under a root directory.
const ROOT_AWARE: &str = "ROOT=\"${ROOT:-}\"";

/// Where systemd units are written.
const UNITS: &str = "/etc/systemd/system/";

/// One entry of `write_files`.
#[derive(Deserialize)]
pub(super) struct WriteFile {
    pub(super) path: String,
    #[serde(default)]
    pub(super) content: String,
    /// Octal, as cloud-init takes it (`"0600"`).
    #[serde(default)]
    pub(super) permissions: Option<String>,
}

impl std::fmt::Debug for WriteFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriteFile")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl WriteFile {
    /// The file's mode: its `permissions`, or 0644 as cloud-init defaults.
    pub(super) fn mode(&self) -> u32 {
        self.permissions
            .as_deref()
            .and_then(|text| u32::from_str_radix(text.trim().trim_start_matches("0o"), 8).ok())
            .unwrap_or(0o644)
    }
}

/// A server the droplet's cloud-init starts.
#[derive(Debug)]
pub(super) struct ServerSetup {
    /// Every file `write_files` writes (certificates, key, template, scripts).
    pub(super) files: Vec<WriteFile>,
    /// Where the server's config is written, on the droplet.
    pub(super) config: String,
    /// What the config is rendered from: its template's text.
    pub(super) template: String,
    /// The word the setup script replaces with the droplet's private address, if it renders a template.
    pub(super) placeholder: Option<String>,
    /// The `runcmd` commands that run under a root directory, in order (paths as on the droplet).
    pub(super) commands: Vec<Vec<String>>,
    /// The `ExecStart` of each unit `write_files` writes (paths as on the droplet).
    pub(super) services: Vec<Vec<String>>,
}

/// Reads user data; `Ok(None)` when it starts no server.
pub(super) fn read(user_data: &str) -> Result<Option<ServerSetup>, CloudInitError> {
    if !user_data.trim_start().starts_with("#cloud-config") {
        return Ok(None);
    }
    let document: CloudConfig = serde_norway::from_str(user_data).map_err(|error| {
        CloudInitError::Yaml(
            error
                .location()
                .map(|location| (location.line(), location.column())),
        )
    })?;
    let scripts: Vec<&str> = document
        .write_files
        .iter()
        .filter(|file| file.content.starts_with("#!"))
        .map(|file| file.content.as_str())
        .collect();
    let Some(config) = scripts.iter().find_map(|script| server_config(script)) else {
        return Ok(None);
    };
    let rendering = scripts
        .iter()
        .flat_map(|script| script.lines())
        .filter_map(sed_render)
        .find(|render| render.output == config);
    let (source, placeholder) = match rendering {
        Some(render) => (render.input, Some(render.placeholder)),
        None => (config.clone(), None),
    };
    let template = document
        .write_files
        .iter()
        .find(|file| file.path == source)
        .map(|file| file.content.clone())
        .ok_or_else(|| match &placeholder {
            Some(_) => CloudInitError::MissingTemplate {
                template: source.clone(),
                config: config.clone(),
            },
            None => CloudInitError::MissingConfig {
                config: config.clone(),
            },
        })?;
    let commands = document
        .runcmd
        .iter()
        .map(RunCommand::arguments)
        .filter(|arguments| {
            arguments.first().is_some_and(|program| {
                document
                    .write_files
                    .iter()
                    .any(|file| file.path == *program && runs_under_a_root(&file.content))
            })
        })
        .collect();
    let services = document
        .write_files
        .iter()
        .filter(|file| file.path.starts_with(UNITS) && file.path.ends_with(".service"))
        .filter_map(|file| {
            file.content.lines().find_map(|line| {
                line.trim()
                    .strip_prefix("ExecStart=")
                    .map(|command| command.split_whitespace().map(str::to_string).collect())
            })
        })
        .collect();
    Ok(Some(ServerSetup {
        files: document.write_files,
        config,
        template,
        placeholder,
        commands,
        services,
    }))
}

/// Whether a script puts every path under `ROOT`: it says so on its first line after `#!` and comments.
fn runs_under_a_root(script: &str) -> bool {
    script.starts_with("#!")
        && script
            .lines()
            .skip(1)
            .map(str::trim)
            .find(|line| !line.is_empty() && !line.starts_with('#') && !line.starts_with("set "))
            .is_some_and(|line| line == ROOT_AWARE)
}

/// The config file of a `... server -config=<file>` (or `-config <file>`) line of a script.
fn server_config(script: &str) -> Option<String> {
    script.lines().find_map(|line| {
        let mut words = line.split_whitespace().skip_while(|word| *word != "server");
        words.next()?;
        let option = words.next()?;
        let value = match option.strip_prefix("-config=") {
            Some(value) => value.to_string(),
            None if option == "-config" => words.next()?.to_string(),
            None => return None,
        };
        Some(value.trim_matches(['"', '\'']).to_string())
    })
}

/// `sed "s/WORD/$var/g" <input> > <output>`: the script renders `output` from `input`, replacing `WORD`.
struct SedRender {
    placeholder: String,
    input: String,
    output: String,
}

fn sed_render(line: &str) -> Option<SedRender> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let sed = words.iter().position(|word| *word == "sed")?;
    let expression = words.get(sed + 1)?.trim_matches(['"', '\'']);
    let mut parts = expression.strip_prefix("s/")?.split('/');
    let placeholder = parts.next().filter(|word| !word.is_empty())?.to_string();
    let input = words.get(sed + 2)?.trim_matches(['"', '\'']).to_string();
    if *words.get(sed + 3)? != ">" {
        return None;
    }
    let output = words.get(sed + 4)?.trim_matches(['"', '\'']).to_string();
    Some(SedRender {
        placeholder,
        input,
        output,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const USER_DATA: &str = r#"#cloud-config
write_files:
  - path: /etc/tls/key.pem
    permissions: "0600"
    content: |
      secret
  - path: /etc/server/server.hcl.in
    content: |
      api_addr = "https://PRIVATE_IP:8200"
  - path: /usr/local/sbin/setup
    permissions: "0755"
    content: |
      #!/bin/bash
      sed "s/PRIVATE_IP/$private_ip/g" /etc/server/server.hcl.in > /etc/server/server.hcl
      ExecStart=$binary server -config=/etc/server/server.hcl
  - path: /usr/local/sbin/keys
    permissions: "0755"
    content: |
      #!/bin/bash
      # Makes keys.
      set -euo pipefail
      ROOT="${ROOT:-}"
      touch "$ROOT/etc/key"
  - path: /etc/systemd/system/signer.service
    content: |
      [Service]
      ExecStart=/usr/bin/python3 /usr/local/sbin/signer --flag
runcmd:
  - [/usr/local/sbin/mount]
  - [/usr/local/sbin/keys, now]
  - /usr/local/sbin/setup
"#;

    #[test]
    fn the_setup_scripts_render_and_server_lines_are_followed() {
        let setup = read(USER_DATA).unwrap().unwrap();
        assert_eq!(setup.config, "/etc/server/server.hcl");
        assert_eq!(setup.placeholder.as_deref(), Some("PRIVATE_IP"));
        assert_eq!(setup.template, "api_addr = \"https://PRIVATE_IP:8200\"\n");
        assert_eq!(setup.files[0].mode(), 0o600);
        assert_eq!(setup.files[1].mode(), 0o644);
        assert_eq!(setup.commands, [["/usr/local/sbin/keys", "now"]]);
        assert_eq!(
            setup.services,
            [["/usr/bin/python3", "/usr/local/sbin/signer", "--flag"]]
        );
    }

    #[test]
    fn user_data_that_starts_no_server_is_no_appliance() {
        assert!(read("#!/bin/sh\necho hi\n").unwrap().is_none());
        assert!(
            read("#cloud-config\npackages: [nginx]\n")
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn a_yaml_error_names_a_place_but_never_the_text() {
        let error = read("#cloud-config\nwrite_files: [\n  secret-key-material: {\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("line"), "{error}");
        assert!(!error.contains("secret-key-material"), "{error}");
    }
}
