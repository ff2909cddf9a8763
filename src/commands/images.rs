//! `regauth validate --images`: the installer's `docker_image_availability` check
//! from the command line, beside the credential checks: the image set of an install
//! (or, with `-e openshift_image_tag=...`, of an upgrade's target), each image once.

use crate::exit::{Exit, Failure};
use crate::inventory::Inventory;
use crate::model::ClusterModel;
use crate::model::images::{self, ImageOptions, ImagePlan};
use crate::output::Output;
use crate::registry::images::{ImageResult, check_images};
use crate::registry::{Status, ValidateOptions};

/// The image set of an install run of this inventory (`-e` values are already above
/// every inventory variable in its host variables).
pub fn plan(inv: &Inventory, model: &ClusterModel) -> Result<ImagePlan, Failure> {
    images::required_images(inv, model, &ImageOptions::default()).map_err(Failure::from_err)
}

/// What `--images` found: the checked images, or why none were.
pub enum Checked {
    /// Every image's result.
    Images(Vec<ImageResult>),
    /// `openshift_disable_check` turned the check off (where it was set).
    Disabled(String),
}

/// Checks the plan's images with the run's options.
pub async fn check(plan: &ImagePlan, opts: &ValidateOptions) -> Checked {
    match plan {
        ImagePlan::Images(list) => Checked::Images(check_images(list, opts).await),
        ImagePlan::Disabled { by } => Checked::Disabled(by.clone()),
    }
}

impl Checked {
    /// True when an image cannot be pulled.
    pub fn failed(&self) -> bool {
        matches!(self, Checked::Images(r) if r.iter().any(|i| i.status == Status::Failed))
    }

    /// The JSON `images` array (empty when the check is disabled).
    pub fn json(&self) -> serde_json::Value {
        match self {
            Checked::Images(r) => serde_json::json!(r),
            Checked::Disabled(_) => serde_json::json!([]),
        }
    }

    /// One line per image and a summary line.
    pub fn text(&self, out: &Output, status_word: impl Fn(Status) -> String) -> String {
        let results = match self {
            Checked::Disabled(by) => {
                return format!(
                    "images: {} disabled by openshift_disable_check ({by})\n",
                    images::CHECK_NAME
                );
            }
            Checked::Images(r) => r,
        };
        let mut text = String::new();
        for r in results {
            let reason = match r.status {
                Status::Failed => format!("{}: ", r.reason),
                _ => String::new(),
            };
            text.push_str(&format!(
                "{} image {} {reason}{} (needed by {}, {} host{}; {} ms)\n",
                status_word(r.status),
                r.image,
                r.message,
                r.needed_by.join(", "),
                r.hosts,
                if r.hosts == 1 { "" } else { "s" },
                r.duration_ms
            ));
        }
        let failed = results
            .iter()
            .filter(|r| r.status == Status::Failed)
            .count();
        let line = format!("images: ok={} failed={failed}", results.len() - failed);
        let paint = if failed > 0 {
            crate::output::Paint::Red
        } else {
            crate::output::Paint::Green
        };
        text.push_str(&out.paint(&line, paint));
        text.push('\n');
        text
    }
}

/// `--images` needs an inventory: the other sources say nothing about the images.
pub fn require_inventory(images: bool, inventory: bool) -> Result<(), Failure> {
    if images && !inventory {
        return Err(Failure::new(
            Exit::Usage,
            "--images works out the installer's images from an inventory: give -i INVENTORY",
        ));
    }
    Ok(())
}
