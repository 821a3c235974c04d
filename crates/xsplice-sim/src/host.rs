//! The child process that holds the running stand-in hypervisor.
//!
//! The image and every payload live in a forked child, never in the
//! simulator itself: a payload that passes every check and still faults
//! kills only the child, and the parent reports the signal and the faulting
//! address. The parent decides everything (addresses, bytes, permissions);
//! the child is a small memory and call server driven over two pipes with
//! fixed-size records, so that it allocates nothing after the fork.
//!
//! Protocol: a request is eight little-endian `u64` words (operation, then
//! arguments); `WRITE` is followed by the bytes to write. A response is four
//! words: kind (0 done, 2 trap), then status (0 or a host errno) and a
//! value; `READ` is followed by the bytes read. A trap record (kind 2)
//! carries the signal, the program counter and the faulting data address,
//! written by the child's signal handler, which then waits for the parent's
//! decision (a request whose first word is the address to resume at, or 0,
//! and whose second is a function to call first with the trap's registers
//! in Xen's `struct cpu_user_regs` layout, or 0):
//! the parent searches the hypervisor's exception tables and bug frames
//! (`crate::traps`), so that a fixup or a `WARN` resumes the code and
//! anything else ends the child.

use std::time::Duration;

use crate::error::SimError;
use crate::traps::Action;

/// Decides a trap: signal, program counter, faulting data address.
pub type TrapHandler<'a> = &'a mut dyn FnMut(i32, u64, u64) -> Action;

/// Page permissions of a mapping in the child.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prot {
    /// Read and execute: text.
    Rx,
    /// Read and write: data.
    Rw,
    /// Read only: rodata.
    Ro,
    /// Read, write and execute: text while it is being patched.
    Rwx,
}

impl Prot {
    #[cfg_attr(
        not(all(target_arch = "x86_64", target_os = "linux")),
        allow(dead_code)
    )]
    fn bits(self) -> u64 {
        // PROT_READ 1, PROT_WRITE 2, PROT_EXEC 4 (Linux, every arch).
        match self {
            Prot::Rx => 1 | 4,
            Prot::Rw => 1 | 2,
            Prot::Ro => 1,
            Prot::Rwx => 1 | 2 | 4,
        }
    }
}

/// How the child ended.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Death {
    /// The signal that killed it, if any.
    pub signal: Option<i32>,
    /// Its exit status, if it exited.
    pub exit_code: Option<i32>,
    /// Program counter at the fault, when the child's handler caught it.
    pub pc: Option<u64>,
    /// Faulting data address (`si_addr`), when caught.
    pub addr: Option<u64>,
    /// True when the parent killed it because a call did not return.
    pub hung: bool,
    /// The hypervisor panicked with this message (the simulator then
    /// stopped the process).
    pub panic: Option<String>,
}

/// The name of a signal, `SIGSEGV` etc.
pub fn signal_name(sig: i32) -> String {
    let name = match sig {
        4 => "SIGILL",
        5 => "SIGTRAP",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        13 => "SIGPIPE",
        15 => "SIGTERM",
        _ => return format!("signal {sig}"),
    };
    name.to_string()
}

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
pub use imp::Host;

/// Fails with [`SimError::UnsupportedHost`] unless this host can run the
/// image's x86-64 code natively.
pub fn check_supported() -> Result<(), SimError> {
    if cfg!(all(target_arch = "x86_64", target_os = "linux")) {
        Ok(())
    } else {
        Err(SimError::UnsupportedHost {
            arch: std::env::consts::ARCH,
            os: std::env::consts::OS,
        })
    }
}

#[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
pub use unsupported::Host;

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
mod imp {
    use std::fs::File;
    use std::io::{Read, Write};
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    use std::sync::atomic::{AtomicI32, Ordering};

    use super::*;

    const OP_MAP: u64 = 1;
    const OP_WRITE: u64 = 2;
    const OP_READ: u64 = 3;
    const OP_PROTECT: u64 = 4;
    const OP_CALL: u64 = 5;
    const OP_UNMAP: u64 = 6;

    /// The running child.
    pub struct Host {
        pid: libc::pid_t,
        requests: File,
        responses: File,
        /// How long a call may run before the child is declared hung.
        timeout: Duration,
        dead: Option<Death>,
    }

    /// Where the child's signal handler writes its trap record.
    static FAULT_FD: AtomicI32 = AtomicI32::new(-1);
    /// Where it reads the parent's decision.
    static DECISION_FD: AtomicI32 = AtomicI32::new(-1);

    fn pipe() -> Result<(OwnedFd, OwnedFd), SimError> {
        let mut fds = [0; 2];
        // SAFETY: `fds` is a valid array of two ints for pipe2 to fill.
        let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
        if rc != 0 {
            return Err(SimError::Host {
                what: "cannot create a pipe to the hypervisor process".into(),
                source: std::io::Error::last_os_error(),
            });
        }
        // SAFETY: pipe2 succeeded, so both descriptors are open and owned by us alone.
        Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
    }

    impl Host {
        /// Forks the child; it waits for requests.
        pub fn spawn(timeout: Duration) -> Result<Host, SimError> {
            let (req_r, req_w) = pipe()?;
            let (resp_r, resp_w) = pipe()?;
            // SAFETY: the child only makes raw system calls and never
            // returns into the parent's code (it ends with `_exit`), so no
            // lock or allocator state copied from other threads is touched.
            let pid = unsafe { libc::fork() };
            if pid < 0 {
                return Err(SimError::Host {
                    what: "cannot fork the hypervisor process".into(),
                    source: std::io::Error::last_os_error(),
                });
            }
            if pid == 0 {
                drop(req_w);
                drop(resp_r);
                // SAFETY: we are the freshly forked child; `child_main` never returns.
                unsafe { child_main(req_r.as_raw_fd(), resp_w.as_raw_fd()) }
            }
            drop(req_r);
            drop(resp_w);
            Ok(Host {
                pid,
                requests: File::from(req_w),
                responses: File::from(resp_r),
                timeout,
                dead: None,
            })
        }

        /// How the child died, if it did.
        pub fn death(&self) -> Option<&Death> {
            self.dead.as_ref()
        }

        /// How long a call may run.
        pub fn timeout(&self) -> Duration {
            self.timeout
        }

        /// Kills the child as the hypervisor's `panic()` stops the machine,
        /// recording `message` as the cause.
        pub fn panic(&mut self, message: String) {
            if self.dead.is_none() {
                // SAFETY: `pid` is our own child and has not been reaped yet.
                unsafe { libc::kill(self.pid, libc::SIGKILL) };
                let mut d = self.reap();
                d.signal = None;
                d.panic = Some(message);
                self.dead = Some(d);
            }
        }

        /// Maps `len` zeroed bytes read-write at exactly `addr`.
        pub fn map(&mut self, addr: u64, len: u64) -> Result<(), SimError> {
            self.simple([OP_MAP, addr, len, 0, 0, 0, 0, 0], "map", addr)
        }

        /// Unmaps `len` bytes at `addr`.
        pub fn unmap(&mut self, addr: u64, len: u64) -> Result<(), SimError> {
            self.simple([OP_UNMAP, addr, len, 0, 0, 0, 0, 0], "unmap", addr)
        }

        /// Changes the permissions of `len` bytes at page-aligned `addr`.
        pub fn protect(&mut self, addr: u64, len: u64, prot: Prot) -> Result<(), SimError> {
            self.simple(
                [OP_PROTECT, addr, len, prot.bits(), 0, 0, 0, 0],
                "mprotect",
                addr,
            )
        }

        /// Copies `bytes` to `addr`, which must be mapped writable.
        pub fn write(&mut self, addr: u64, bytes: &[u8]) -> Result<(), SimError> {
            let req = [OP_WRITE, addr, bytes.len() as u64, 0, 0, 0, 0, 0];
            self.send(&req, bytes)?;
            let (status, _) = self.response(None)?;
            self.check(status, "write", addr)
        }

        /// Reads `len` bytes at `addr`, which must be mapped readable.
        pub fn read(&mut self, addr: u64, len: usize) -> Result<Vec<u8>, SimError> {
            self.send(&[OP_READ, addr, len as u64, 0, 0, 0, 0, 0], &[])?;
            let (status, _) = self.response(None)?;
            self.check(status, "read", addr)?;
            let mut buf = vec![0; len];
            self.responses
                .read_exact(&mut buf)
                .map_err(|_| self.died())?;
            Ok(buf)
        }

        /// Calls the function at `addr` with up to six integer arguments
        /// (SysV) and returns `rax`; `traps` decides each fault or trap of
        /// the code it runs.
        pub fn call(
            &mut self,
            addr: u64,
            args: &[u64],
            traps: TrapHandler<'_>,
        ) -> Result<u64, SimError> {
            let mut req = [OP_CALL, addr, 0, 0, 0, 0, 0, 0];
            for (slot, a) in req[2..].iter_mut().zip(args) {
                *slot = *a;
            }
            self.send(&req, &[])?;
            let (_, value) = self.response(Some(traps))?;
            Ok(value)
        }

        fn simple(&mut self, req: [u64; 8], what: &str, addr: u64) -> Result<(), SimError> {
            self.send(&req, &[])?;
            let (status, _) = self.response(None)?;
            self.check(status, what, addr)
        }

        fn check(&self, status: u64, what: &str, addr: u64) -> Result<(), SimError> {
            if status == 0 {
                return Ok(());
            }
            Err(SimError::Host {
                what: format!("{what} at {addr:#x} failed in the hypervisor process"),
                source: std::io::Error::from_raw_os_error(status as i32),
            })
        }

        fn send(&mut self, req: &[u64; 8], bytes: &[u8]) -> Result<(), SimError> {
            if let Some(d) = &self.dead {
                return Err(SimError::Crashed(d.clone()));
            }
            let mut buf = [0u8; 64];
            for (chunk, w) in buf.chunks_exact_mut(8).zip(req) {
                chunk.copy_from_slice(&w.to_le_bytes());
            }
            if self.requests.write_all(&buf).is_err() || self.requests.write_all(bytes).is_err() {
                return Err(self.died());
            }
            Ok(())
        }

        fn response(&mut self, mut traps: Option<TrapHandler<'_>>) -> Result<(u64, u64), SimError> {
            loop {
                let (kind, a, b, c) = self.record()?;
                if kind != 2 {
                    return Ok((a, b));
                }
                let action = match traps.as_mut() {
                    Some(decide) => decide(a as i32, b, c),
                    None => Action::Die(None),
                };
                let (resume, func) = match &action {
                    Action::Resume(pc) => (*pc, 0),
                    Action::Run { func, resume } => (*resume, *func),
                    Action::Die(_) => (0, 0),
                };
                self.send(&[resume, func, 0, 0, 0, 0, 0, 0], &[])?;
                if let Action::Die(panic) = action {
                    let mut d = self.reap();
                    d.signal = Some(a as i32);
                    d.pc = Some(b);
                    d.addr = Some(c);
                    d.panic = panic;
                    self.dead = Some(d.clone());
                    return Err(SimError::Crashed(d));
                }
            }
        }

        /// One response record: kind and three words.
        fn record(&mut self) -> Result<(u64, u64, u64, u64), SimError> {
            let mut pfd = libc::pollfd {
                fd: self.responses.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            let ms = i32::try_from(self.timeout.as_millis()).unwrap_or(i32::MAX);
            // SAFETY: `pfd` is one valid pollfd and we pass a count of 1.
            let ready = unsafe { libc::poll(&mut pfd, 1, ms) };
            if ready == 0 {
                // SAFETY: `pid` is our own child, not yet reaped.
                unsafe { libc::kill(self.pid, libc::SIGKILL) };
                let mut d = self.reap();
                d.hung = true;
                self.dead = Some(d.clone());
                return Err(SimError::Crashed(d));
            }
            let mut buf = [0u8; 32];
            if self.responses.read_exact(&mut buf).is_err() {
                return Err(self.died());
            }
            let w = |i: usize| {
                let mut b = [0u8; 8];
                b.copy_from_slice(&buf[i * 8..i * 8 + 8]);
                u64::from_le_bytes(b)
            };
            Ok((w(0), w(1), w(2), w(3)))
        }

        /// The child stopped answering: reap it and record how it ended.
        fn died(&mut self) -> SimError {
            if self.dead.is_none() {
                let d = self.reap();
                self.dead = Some(d);
            }
            SimError::Crashed(self.dead.clone().unwrap_or_default())
        }

        fn reap(&mut self) -> Death {
            let mut status = 0;
            // SAFETY: waits for our own child; `status` is a valid out pointer.
            let r = unsafe { libc::waitpid(self.pid, &mut status, 0) };
            let mut d = Death::default();
            if r == self.pid {
                if libc::WIFSIGNALED(status) {
                    d.signal = Some(libc::WTERMSIG(status));
                } else if libc::WIFEXITED(status) {
                    d.exit_code = Some(libc::WEXITSTATUS(status));
                }
            }
            d
        }
    }

    impl Drop for Host {
        fn drop(&mut self) {
            if self.dead.is_none() {
                // SAFETY: `pid` is our own child and has not been reaped yet.
                unsafe { libc::kill(self.pid, libc::SIGKILL) };
                self.reap();
            }
        }
    }

    /// Reads exactly `len` bytes into `dst`; false on EOF or error.
    ///
    /// # Safety
    /// `dst..dst+len` must be writable memory.
    unsafe fn read_exact(fd: i32, dst: *mut u8, len: usize) -> bool {
        let mut done = 0;
        while done < len {
            // SAFETY: the caller guarantees `dst + done .. dst + len` is writable.
            let n = unsafe { libc::read(fd, dst.add(done).cast(), len - done) };
            if n <= 0 {
                if n < 0
                    && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted
                {
                    continue;
                }
                return false;
            }
            done += n as usize;
        }
        true
    }

    /// Writes exactly `len` bytes from `src`; false on error.
    ///
    /// # Safety
    /// `src..src+len` must be readable memory.
    unsafe fn write_all(fd: i32, src: *const u8, len: usize) -> bool {
        let mut done = 0;
        while done < len {
            // SAFETY: the caller guarantees `src + done .. src + len` is readable.
            let n = unsafe { libc::write(fd, src.add(done).cast(), len - done) };
            if n <= 0 {
                return false;
            }
            done += n as usize;
        }
        true
    }

    /// Xen 4.17's x86-64 `struct cpu_user_regs` (public
    /// `arch-x86/xen-x86_64.h`), as 25 words: the general registers by
    /// word, then `error_code`/`entry_vector`, `rip`, `cs`, `rflags`,
    /// `rsp`, and the segment selectors (zero here).
    const UREGS_WORDS: usize = 25;
    const UREGS_GPRS: [(usize, i32); 15] = [
        (0, libc::REG_R15),
        (1, libc::REG_R14),
        (2, libc::REG_R13),
        (3, libc::REG_R12),
        (4, libc::REG_RBP),
        (5, libc::REG_RBX),
        (6, libc::REG_R11),
        (7, libc::REG_R10),
        (8, libc::REG_R9),
        (9, libc::REG_R8),
        (10, libc::REG_RAX),
        (11, libc::REG_RCX),
        (12, libc::REG_RDX),
        (13, libc::REG_RSI),
        (14, libc::REG_RDI),
    ];
    const UREGS_ENTRY: usize = 15;
    const UREGS_RIP: usize = 16;
    const UREGS_CS: usize = 17;
    const UREGS_RFLAGS: usize = 18;
    const UREGS_RSP: usize = 19;
    /// `TRAP_invalid_op`: `ud2` raises #UD, vector 6.
    const TRAP_INVALID_OP: u64 = 6;
    /// `__HYPERVISOR_CS`.
    const HYPERVISOR_CS: u64 = 0xe008;

    extern "C" fn on_fault(sig: i32, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
        // SAFETY: the kernel passes a valid siginfo and ucontext to an
        // SA_SIGINFO handler; we read and write them and make raw system
        // calls. A run_fn's function is code the parent mapped executable
        // in this process (hypervisor or payload text), called with a
        // pointer to a local array of the size it is declared to take.
        unsafe {
            let addr = (*info).si_addr() as u64;
            let uc = ctx.cast::<libc::ucontext_t>();
            let pc = (*uc).uc_mcontext.gregs[libc::REG_RIP as usize] as u64;
            let rec = [2u64, sig as u64, pc, addr];
            let fd = FAULT_FD.load(Ordering::Relaxed);
            write_all(fd, rec.as_ptr().cast(), 32);
            let mut decision = [0u64; 8];
            let req = DECISION_FD.load(Ordering::Relaxed);
            if read_exact(req, decision.as_mut_ptr().cast(), 64) && decision[0] != 0 {
                if decision[1] != 0 {
                    // A run_fn frame: its function gets the registers, and
                    // the general registers it changed are the trap's.
                    let gregs = &mut (*uc).uc_mcontext.gregs;
                    let mut regs = [0u64; UREGS_WORDS];
                    for (slot, reg) in UREGS_GPRS {
                        regs[slot] = gregs[reg as usize] as u64;
                    }
                    regs[UREGS_ENTRY] = TRAP_INVALID_OP << 32;
                    regs[UREGS_RIP] = gregs[libc::REG_RIP as usize] as u64;
                    regs[UREGS_CS] = HYPERVISOR_CS;
                    regs[UREGS_RFLAGS] = gregs[libc::REG_EFL as usize] as u64;
                    regs[UREGS_RSP] = gregs[libc::REG_RSP as usize] as u64;
                    let f: unsafe extern "C" fn(*mut u64) = std::mem::transmute(decision[1]);
                    f(regs.as_mut_ptr());
                    for (slot, reg) in UREGS_GPRS {
                        gregs[reg as usize] = regs[slot] as i64;
                    }
                }
                // A fixup, a warning or a run_fn: the code goes on where
                // the parent says.
                (*uc).uc_mcontext.gregs[libc::REG_RIP as usize] = decision[0] as i64;
                return;
            }
            libc::_exit(128 + sig);
        }
    }

    /// The child: serves requests until the parent closes the pipe.
    ///
    /// # Safety
    /// Must only run in a freshly forked child; never returns.
    unsafe fn child_main(req: i32, resp: i32) -> ! {
        // SAFETY: plain system calls on our own process; the alternate
        // signal stack is a fresh private mapping that stays mapped until exit.
        let (req, resp) = unsafe {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            // Keep only our two pipe ends, as fds 0 and 1: descriptors
            // inherited from other threads' hypervisors (tests run in
            // parallel) would otherwise hold their pipes open.
            let r = libc::fcntl(req, libc::F_DUPFD, 3);
            let w = libc::fcntl(resp, libc::F_DUPFD, 3);
            libc::dup2(r, 0);
            libc::dup2(w, 1);
            libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32);
            (0, 1)
        };
        // SAFETY: as above.
        unsafe {
            FAULT_FD.store(resp, Ordering::Relaxed);
            DECISION_FD.store(req, Ordering::Relaxed);
            let stack_size = 64 * 1024;
            let stack = libc::mmap(
                std::ptr::null_mut(),
                stack_size,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            if stack != libc::MAP_FAILED {
                let ss = libc::stack_t {
                    ss_sp: stack,
                    ss_flags: 0,
                    ss_size: stack_size,
                };
                libc::sigaltstack(&ss, std::ptr::null_mut());
            }
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_fault as *const () as usize;
            sa.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            libc::sigemptyset(&mut sa.sa_mask);
            for sig in [
                libc::SIGSEGV,
                libc::SIGBUS,
                libc::SIGILL,
                libc::SIGFPE,
                libc::SIGTRAP,
            ] {
                libc::sigaction(sig, &sa, std::ptr::null_mut());
            }
        }
        let mut chunk = [0u8; 16 * 1024];
        loop {
            let mut raw = [0u8; 64];
            // SAFETY: `raw` is 64 writable bytes.
            if !unsafe { read_exact(req, raw.as_mut_ptr(), 64) } {
                // SAFETY: ends the child without running the parent's destructors.
                unsafe { libc::_exit(0) };
            }
            let mut r = [0u64; 8];
            for (w, c) in r.iter_mut().zip(raw.chunks_exact(8)) {
                let mut b = [0u8; 8];
                b.copy_from_slice(c);
                *w = u64::from_le_bytes(b);
            }
            let errno = || std::io::Error::last_os_error().raw_os_error().unwrap_or(0) as u64;
            let (mut status, mut value) = (0u64, 0u64);
            match r[0] {
                OP_MAP => {
                    // SAFETY: MAP_FIXED_NOREPLACE never replaces an existing mapping.
                    let p = unsafe {
                        libc::mmap(
                            r[1] as *mut libc::c_void,
                            r[2] as usize,
                            libc::PROT_READ | libc::PROT_WRITE,
                            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED_NOREPLACE,
                            -1,
                            0,
                        )
                    };
                    if p == libc::MAP_FAILED {
                        status = errno();
                    } else if p as u64 != r[1] {
                        // Old kernels ignore the flag and map elsewhere.
                        // SAFETY: unmaps the mapping we just made.
                        unsafe { libc::munmap(p, r[2] as usize) };
                        status = libc::EEXIST as u64;
                    }
                }
                OP_UNMAP => {
                    // SAFETY: the parent only unmaps what it mapped.
                    if unsafe { libc::munmap(r[1] as *mut libc::c_void, r[2] as usize) } != 0 {
                        status = errno();
                    }
                }
                OP_PROTECT => {
                    // SAFETY: the parent only changes permissions of its own mappings.
                    let rc = unsafe {
                        libc::mprotect(r[1] as *mut libc::c_void, r[2] as usize, r[3] as i32)
                    };
                    if rc != 0 {
                        status = errno();
                    }
                }
                OP_WRITE => {
                    let (mut at, mut left) = (r[1] as usize, r[2] as usize);
                    while left > 0 {
                        let n = left.min(chunk.len());
                        // SAFETY: `chunk` has room for `n` bytes.
                        if !unsafe { read_exact(req, chunk.as_mut_ptr(), n) } {
                            // SAFETY: ends the child.
                            unsafe { libc::_exit(0) };
                        }
                        // SAFETY: the parent only writes into memory it mapped
                        // writable; a wrong address faults and is reported.
                        unsafe { std::ptr::copy_nonoverlapping(chunk.as_ptr(), at as *mut u8, n) };
                        at += n;
                        left -= n;
                    }
                }
                OP_CALL => {
                    // SAFETY: the parent calls only addresses of functions in
                    // the image or a loaded payload; a bad one faults and is reported.
                    let f: unsafe extern "C" fn(u64, u64, u64, u64, u64, u64) -> u64 =
                        unsafe { std::mem::transmute(r[1] as usize) };
                    // SAFETY: the callee is hypervisor or payload code taking
                    // at most six integer arguments (extra ones are ignored
                    // under the SysV convention); whatever it does wrong
                    // stays in this process and is reported as a fault.
                    value = unsafe { f(r[2], r[3], r[4], r[5], r[6], r[7]) };
                }
                OP_READ => {}
                _ => status = libc::EINVAL as u64,
            }
            let rec = [0u64, status, value, 0];
            // SAFETY: `rec` is 32 readable bytes.
            if !unsafe { write_all(resp, rec.as_ptr().cast(), 32) } {
                // SAFETY: ends the child.
                unsafe { libc::_exit(0) };
            }
            if r[0] == OP_READ {
                // SAFETY: the parent only reads memory it mapped readable.
                unsafe { write_all(resp, r[1] as *const u8, r[2] as usize) };
            }
        }
    }
}

#[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
mod unsupported {
    use super::*;

    /// Stands in for the child on hosts that cannot run x86-64 code.
    pub struct Host {
        _never: std::convert::Infallible,
    }

    impl Host {
        pub fn spawn(_timeout: Duration) -> Result<Host, SimError> {
            Err(SimError::UnsupportedHost {
                arch: std::env::consts::ARCH,
                os: std::env::consts::OS,
            })
        }
        pub fn death(&self) -> Option<&Death> {
            match self._never {}
        }
        pub fn timeout(&self) -> Duration {
            match self._never {}
        }
        pub fn panic(&mut self, _: String) {
            match self._never {}
        }
        pub fn map(&mut self, _: u64, _: u64) -> Result<(), SimError> {
            match self._never {}
        }
        pub fn unmap(&mut self, _: u64, _: u64) -> Result<(), SimError> {
            match self._never {}
        }
        pub fn protect(&mut self, _: u64, _: u64, _: Prot) -> Result<(), SimError> {
            match self._never {}
        }
        pub fn write(&mut self, _: u64, _: &[u8]) -> Result<(), SimError> {
            match self._never {}
        }
        pub fn read(&mut self, _: u64, _: usize) -> Result<Vec<u8>, SimError> {
            match self._never {}
        }
        pub fn call(&mut self, _: u64, _: &[u64], _: TrapHandler<'_>) -> Result<u64, SimError> {
            match self._never {}
        }
    }
}
