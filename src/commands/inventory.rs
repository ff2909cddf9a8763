//! `regauth inventory`: print inventories as ansible-inventory does.
