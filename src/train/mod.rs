//! The training loop, written once over [`crate::backend::Backend`].
