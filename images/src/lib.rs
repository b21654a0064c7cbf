//! The image kit: spec parsing, a pure layout writer and the archive shell.
