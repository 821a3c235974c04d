/*
 * One more `.altinstructions` entry, whose original instructions are a
 * read-only string rather than payload text: the upload is refused (C-106).
 */
#if defined(__x86_64__)
asm ( ".pushsection .rodata.alternative_outside, \"a\", @progbits\n"
      "1: .ascii \"data\"\n"
      ".popsection\n"
      ".pushsection .altinstr_replacement, \"ax\", @progbits\n"
      "2: nop\n"
      ".popsection\n"
      ".pushsection .altinstructions, \"a\", @progbits\n"
      ".long 1b - .\n"
      ".long 2b - .\n"
      ".word 100\n"
      ".byte 1, 1, 0, 0\n"
      ".popsection" );
#endif
