//! Xen's errno values: what the hypervisor returns when it refuses a
//! payload or an operation, with the names and the messages the
//! `xen-livepatch` tool prints (`Error <n>: <strerror>`).
//!
//! One enum for every crate: the validator sets one on each finding where
//! the check is made (spec §2 gives the errno of every check), the
//! simulator returns it from its hypercalls, and this crate's own errors
//! name theirs ([`crate::AbiError::xen_errno`]). The messages are fixed
//! here rather than taken from the host's `strerror`, so that output is the
//! same on every machine.

use std::fmt;

/// A Xen errno (`xen/include/public/errno.h`); the hypercall returns it
/// negated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Errno {
    Eperm,
    Enoent,
    E2big,
    Eagain,
    Enomem,
    Eacces,
    Efault,
    Ebusy,
    Eexist,
    Einval,
    Enospc,
    Erange,
    Enosys,
    Enodata,
    Eoverflow,
    Eopnotsupp,
    Enobufs,
}

impl Errno {
    pub const ALL: [Errno; 17] = [
        Errno::Eperm,
        Errno::Enoent,
        Errno::E2big,
        Errno::Eagain,
        Errno::Enomem,
        Errno::Eacces,
        Errno::Efault,
        Errno::Ebusy,
        Errno::Eexist,
        Errno::Einval,
        Errno::Enospc,
        Errno::Erange,
        Errno::Enosys,
        Errno::Enodata,
        Errno::Eoverflow,
        Errno::Eopnotsupp,
        Errno::Enobufs,
    ];

    /// The positive errno number.
    pub fn number(self) -> i32 {
        match self {
            Errno::Eperm => 1,
            Errno::Enoent => 2,
            Errno::E2big => 7,
            Errno::Eagain => 11,
            Errno::Enomem => 12,
            Errno::Eacces => 13,
            Errno::Efault => 14,
            Errno::Ebusy => 16,
            Errno::Eexist => 17,
            Errno::Einval => 22,
            Errno::Enospc => 28,
            Errno::Erange => 34,
            Errno::Enosys => 38,
            Errno::Enodata => 61,
            Errno::Eoverflow => 75,
            Errno::Eopnotsupp => 95,
            Errno::Enobufs => 105,
        }
    }

    /// The symbolic name, `EINVAL` etc.
    pub fn name(self) -> &'static str {
        match self {
            Errno::Eperm => "EPERM",
            Errno::Enoent => "ENOENT",
            Errno::E2big => "E2BIG",
            Errno::Eagain => "EAGAIN",
            Errno::Enomem => "ENOMEM",
            Errno::Eacces => "EACCES",
            Errno::Efault => "EFAULT",
            Errno::Ebusy => "EBUSY",
            Errno::Eexist => "EEXIST",
            Errno::Einval => "EINVAL",
            Errno::Enospc => "ENOSPC",
            Errno::Erange => "ERANGE",
            Errno::Enosys => "ENOSYS",
            Errno::Enodata => "ENODATA",
            Errno::Eoverflow => "EOVERFLOW",
            Errno::Eopnotsupp => "EOPNOTSUPP",
            Errno::Enobufs => "ENOBUFS",
        }
    }

    /// The GNU C library's `strerror` text, which the tool prints.
    pub fn message(self) -> &'static str {
        match self {
            Errno::Eperm => "Operation not permitted",
            Errno::Enoent => "No such file or directory",
            Errno::E2big => "Argument list too long",
            Errno::Eagain => "Resource temporarily unavailable",
            Errno::Enomem => "Cannot allocate memory",
            Errno::Eacces => "Permission denied",
            Errno::Efault => "Bad address",
            Errno::Ebusy => "Device or resource busy",
            Errno::Eexist => "File exists",
            Errno::Einval => "Invalid argument",
            Errno::Enospc => "No space left on device",
            Errno::Erange => "Numerical result out of range",
            Errno::Enosys => "Function not implemented",
            Errno::Enodata => "No data available",
            Errno::Eoverflow => "Value too large for defined data type",
            Errno::Eopnotsupp => "Operation not supported",
            Errno::Enobufs => "No buffer space available",
        }
    }

    /// The errno of a hook's negative return value; values Xen does not
    /// name here become -EINVAL.
    pub fn from_rc(rc: i32) -> Errno {
        Errno::ALL
            .into_iter()
            .find(|e| e.number() == rc.saturating_neg())
            .unwrap_or(Errno::Einval)
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "-{} ({})", self.name(), self.number())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_numbers_and_messages() {
        let e = Errno::Eopnotsupp;
        assert_eq!(
            format!("{e} {}", e.message()),
            "-EOPNOTSUPP (95) Operation not supported"
        );
        for e in Errno::ALL {
            assert_eq!(Errno::from_rc(-e.number()), e, "{}", e.name());
        }
    }

    #[test]
    fn hook_return_values() {
        assert_eq!(Errno::from_rc(-22), Errno::Einval);
        assert_eq!(Errno::from_rc(-16), Errno::Ebusy);
        assert_eq!(Errno::from_rc(-1000), Errno::Einval);
        assert_eq!(Errno::from_rc(7), Errno::Einval);
    }
}
