//! Ansible vault: decrypts `$ANSIBLE_VAULT;1.1;AES256` and `1.2;AES256;label` texts.
