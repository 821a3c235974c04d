/*
 * Four bytes more in `.bug_frames.1`: half a frame, so the section's size
 * is no multiple of the 8-byte x86 frame and the upload is refused (C-105).
 */
asm ( ".pushsection .bug_frames.1, \"a\", @progbits\n"
      ".long 0\n"
      ".popsection" );
