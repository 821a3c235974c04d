/*
 * NOP mode: new_addr is NULL, so the hypervisor overwrites the first
 * new_size bytes of xen_minor_version with NOPs instead of a jump. As in
 * Xen's own test, everything but the final return instruction goes (one
 * byte on x86, one 4-byte instruction on ARM), within the hypervisor's
 * limit on NOP runs (31 bytes on x86; 28, a multiple of 4, on ARM). On the
 * x86_64 stand-in the whole body goes: xen_version_queries stops counting
 * minor-version calls and the function returns whatever the return register
 * held. The address is absolute, from config.h, and the entry has no name.
 */
#include "xsplice.h"
#include "stand_in.h"
#include "config.h"

#if defined(__x86_64__)
#define NOP_RETURN_INSN_SZ 1
#define NOP_MAX_SZ 31
#else
#define NOP_RETURN_INSN_SZ 4
#define NOP_MAX_SZ 28
#endif

#define NOP_SZ (MINOR_VERSION_SZ - NOP_RETURN_INSN_SZ > NOP_MAX_SZ ? \
                NOP_MAX_SZ : MINOR_VERSION_SZ - NOP_RETURN_INSN_SZ)

static xsplice_func_t XSPLICE_FUNCS nop_patch = {
    .name = 0,
    .new_addr = 0,
    .old_addr = PAYLOAD_ADDR(MINOR_VERSION_ADDR),
    .new_size = NOP_SZ,
    .old_size = MINOR_VERSION_SZ,
    XSPLICE_VERSION_INIT
};
