//! The `image_availability` step: the installer's `docker_image_availability`
//! preflight, done once per image from the control host instead of once per image
//! per host on the nodes, before any host or secret is touched.

use super::{Engine, HostStatus, Outcome};
use crate::model::images::{self, ImageOptions, ImagePlan};
use crate::registry::Status;
use crate::registry::images::check_images;

impl Engine<'_> {
    pub(super) fn image_availability(
        &mut self,
        stop_on_failure: bool,
        upgrade_target: Option<&str>,
    ) -> Vec<Outcome> {
        let opts = ImageOptions {
            // -e already sits above every inventory variable in `host_vars`
            // (inventory::extra), typed as Ansible types it: nothing to add here.
            extra_vars: Default::default(),
            upgrade_target: upgrade_target.map(String::from),
            limit: self.limit.clone(),
        };
        let control = |status, message: String| {
            vec![Outcome {
                host: super::CONTROL_HOST.to_string(),
                status,
                message,
                diff: String::new(),
            }]
        };
        let list = match images::required_images(self.inv, self.model, &opts) {
            Ok(ImagePlan::Images(list)) => list,
            Ok(ImagePlan::Disabled { by }) => {
                return control(
                    HostStatus::Skipped,
                    format!(
                        "{} disabled by openshift_disable_check ({by})",
                        images::CHECK_NAME
                    ),
                );
            }
            Err(e) => {
                self.stop_if(stop_on_failure);
                return control(HostStatus::Failed, e.to_string());
            }
        };
        let vopts = self.registry_options();
        let results = self.rt.block_on(check_images(&list, &vopts));
        let failed = results.iter().any(|r| r.status == Status::Failed);
        if failed {
            self.stop_if(stop_on_failure);
        }
        results
            .into_iter()
            .map(|r| Outcome {
                status: if r.status == Status::Failed {
                    HostStatus::Failed
                } else {
                    HostStatus::Ok
                },
                message: format!(
                    "{}: {} (needed by {}, {} host{})",
                    r.reason,
                    r.message,
                    r.needed_by.join(", "),
                    r.hosts,
                    if r.hosts == 1 { "" } else { "s" }
                ),
                host: r.image,
                diff: String::new(),
            })
            .collect()
    }

    fn stop_if(&mut self, stop_on_failure: bool) {
        if stop_on_failure {
            self.aborted = true;
            self.out.warn(
                "an image this run needs cannot be pulled: stopping before any host or secret is touched",
            );
        }
    }
}
