//! `regauth grant image-puller`: like `oc policy add-role-to-user|group system:image-puller`.

use crate::cluster::{ConnectOptions, PullerSubject};
use crate::exit::{Exit, Failure};
use crate::output::Output;

/// Settings for `regauth grant image-puller`.
#[derive(Debug, Clone)]
pub struct ImagePullerSettings {
    /// Who may pull.
    pub who: PullerSubject,
    /// Namespace whose images they may pull.
    pub to_namespace: String,
    /// Server-side dry run.
    pub dry_run: bool,
    /// Cluster access.
    pub kube: ConnectOptions,
}

/// Runs `regauth grant image-puller`.
pub fn image_puller(settings: &ImagePullerSettings, out: &Output) -> Result<Exit, Failure> {
    super::block_on(async {
        let (client, _) = crate::cluster::connect(&settings.kube)
            .await
            .map_err(Failure::from_err)?;
        let change = crate::cluster::grant_image_puller(
            &client,
            &settings.to_namespace,
            &settings.who,
            settings.dry_run,
        )
        .await
        .map_err(Failure::from_err)?;
        super::report_change(
            out,
            "rolebinding",
            &settings.to_namespace,
            "system:image-puller",
            &change,
            settings.dry_run,
            "",
        );
        Ok(Exit::Ok)
    })
}
