//! Ansible inventories (INI and YAML, group_vars/host_vars, vault), read exactly
//! as ansible-inventory reads them, and the merged per-host variables.

mod error;
mod value;

pub use error::{InventoryError, Origin};
pub use value::{Value, VaultString};
