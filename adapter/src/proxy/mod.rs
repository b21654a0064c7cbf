//! The Docker API proxy (DESIGN §7).
