/*
 * One more `.alt_call_sites` entry, pointing at a `ret` rather than at a
 * `call *disp32(%rip)`: the upload is refused (C-107).
 */
#if defined(__x86_64__)
asm ( ".pushsection .text.altcall_bad_site, \"ax\", @progbits\n"
      "1: ret\n"
      ".popsection\n"
      ".pushsection .alt_call_sites, \"a\", @progbits\n"
      ".long 1b - .\n"
      ".popsection" );
#endif
