//! Real components the tests start on loopback (killed on drop).

pub mod apiserver;
