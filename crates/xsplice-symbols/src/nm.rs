//! GNU nm rendering (in progress).
